/*
 * Keeps large freed blocks in the heap for reuse. glibc serves a block above M_MMAP_THRESHOLD
 * (adjusted on the fly, at most 32 MiB) with a fresh mmap and unmaps it when freed, and hands
 * free heap memory above M_TRIM_THRESHOLD back to the system. A store write of 131 072 events
 * allocates tens of MiB (the batch text, DuckDB's vectors and string heaps), so every write
 * faulted in and zeroed fresh pages: a fifth of the store thread's CPU was the kernel's.
 *
 * JavaScript API: setMallocThresholds(mmapThresholdBytes, trimThresholdBytes) → boolean, false
 * where the C library has no such settings (not glibc) or refused a value.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "addon.h"

#define CHECK(call) ADDON_CHECK("setMallocThresholds", call)

napi_value set_malloc_thresholds(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "EINVAL", "setMallocThresholds(mmapThresholdBytes, trimThresholdBytes)");
    return NULL;
  }
  int64_t mmap_threshold = 0;
  int64_t trim_threshold = 0;
  CHECK(napi_get_value_int64(env, argv[0], &mmap_threshold));
  CHECK(napi_get_value_int64(env, argv[1], &trim_threshold));
  if (mmap_threshold <= 0 || trim_threshold <= 0 || mmap_threshold > INT32_MAX || trim_threshold > INT32_MAX) {
    napi_throw_range_error(env, "ERANGE", "setMallocThresholds: each threshold must be 1 .. 2^31-1 bytes");
    return NULL;
  }
  bool applied = false;
#ifdef __GLIBC__
  applied = mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1;
#endif
  napi_value result;
  CHECK(napi_get_boolean(env, applied, &result));
  return result;
}
