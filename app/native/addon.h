#ifndef COLLECTOR_ADDON_H
#define COLLECTOR_ADDON_H
#include <node_api.h>

napi_value udp_open(napi_env env, napi_callback_info info);
napi_value udp_close(napi_env env, napi_callback_info info);
napi_value set_thread_pool_nice(napi_env env, napi_callback_info info);
napi_value event_scan_configure(napi_env env, napi_callback_info info);
napi_value event_scan(napi_env env, napi_callback_info info);

#endif
