/*
 * The collector's native addon: batched UDP receive (udp_batch.c), the decoder's fast path,
 * the ClickHouse store's rows (event_scan.c) and blocks (native_block.c), store thread priority (thread_nice.c) and malloc thresholds (malloc_tuning.c).
 */
#include <node_api.h>

#include "addon.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL},
      {"udpClose", NULL, udp_close, NULL, NULL, NULL, napi_default, NULL},
      {"setThreadPoolNice", NULL, set_thread_pool_nice, NULL, NULL, NULL, napi_default, NULL},
      {"eventScanConfigure", NULL, event_scan_configure, NULL, NULL, NULL, napi_default, NULL},
      {"eventScan", NULL, event_scan, NULL, NULL, NULL, napi_default, NULL},
      {"eventScanRows", NULL, event_scan_rows, NULL, NULL, NULL, napi_default, NULL},
      {"nativeBlockWrite", NULL, native_block_write_js, NULL, NULL, NULL, napi_default, NULL},
      {"setMallocThresholds", NULL, set_malloc_thresholds, NULL, NULL, NULL, napi_default, NULL},
      {"setDuckDbAllocatorDecay", NULL, set_duckdb_allocator_decay, NULL, NULL, NULL, napi_default, NULL},
      {"purgeDuckDbFreedMemory", NULL, purge_duckdb_freed_memory, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
