#ifndef COLLECTOR_ADDON_H
#define COLLECTOR_ADDON_H
#include <node_api.h>

napi_value udp_open(napi_env env, napi_callback_info info);
napi_value udp_close(napi_env env, napi_callback_info info);
napi_value set_thread_pool_nice(napi_env env, napi_callback_info info);
napi_value event_scan_configure(napi_env env, napi_callback_info info);
napi_value event_scan(napi_env env, napi_callback_info info);
napi_value event_scan_rows(napi_env env, napi_callback_info info);
napi_value native_block_write_js(napi_env env, napi_callback_info info);
napi_value set_malloc_thresholds(napi_env env, napi_callback_info info);
napi_value set_duckdb_allocator_decay(napi_env env, napi_callback_info info);
napi_value purge_duckdb_freed_memory(napi_env env, napi_callback_info info);

/*
 * In a function with an `env` that returns napi_value: when an N-API call fails, throw an
 * Error naming the file's part and the call, and return NULL.
 */
#define ADDON_CHECK(part, call)                                         \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "EINTERNAL", part ": " #call " failed");    \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

#endif
