/*
 * How long DuckDB's allocator keeps freed memory before handing it back to the system. DuckDB's
 * Linux builds bundle jemalloc under the prefix duckdb_je_ and configure its decay as
 * DUCKDB_JEMALLOC_DECAY seconds (extension/jemalloc/jemalloc/README.md in duckdb/duckdb): 1 s in
 * the 1.5.6 library we pin (opt.dirty_decay_ms reads 1000). Every page handed back and taken
 * again is a page fault that zeroes it. A store write allocates and frees tens of MiB (the
 * batch's vectors, JSON documents, transaction-local row groups), a few times a second, so a
 * share of those pages was faulted in afresh on every write. jemalloc's mallctl
 * `arena.<i>.dirty_decay_ms` and `muzzy_decay_ms` change it at run time; -1 keeps freed pages
 * for reuse for good (doc/jemalloc.xml.in in jemalloc/jemalloc).
 *
 * Kept pages are kept by the arena that freed them, one per thread that allocates, so a big
 * query's memory stays resident long after it (docs/adr/0020). `arena.<i>.purge` hands back an
 * arena's unused dirty pages now, whatever its decay (doc/jemalloc.xml.in).
 *
 * JavaScript API: setDuckDbAllocatorDecay(decayMs) → { library, configuredMs, appliedMs,
 * arenas } once set on every initialized arena and as the default of new ones;
 * purgeDuckDbFreedMemory() → { library, arenas } once every initialized arena is purged. Either
 * returns { error } naming what is missing: no DuckDB library loaded in this process, or one
 * without its jemalloc (no duckdb_je_mallctl).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "addon.h"

#define CHECK(call) ADDON_CHECK("setDuckDbAllocatorDecay", call)

typedef int (*mallctl_fn)(const char *name, void *old, size_t *old_length, void *new_value, size_t new_length);

/* The path of the loaded shared object whose file name starts with "libduckdb". */
static int find_duckdb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  const char *name = info->dlpi_name;
  const char *base = name ? strrchr(name, '/') : NULL;
  if (base && strncmp(base + 1, "libduckdb", 9) == 0) {
    snprintf((char *)data, 4096, "%s", name);
    return 1;
  }
  return 0;
}

static napi_value set_string(napi_env env, napi_value object, const char *key, const char *text) {
  napi_value value;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value) != napi_ok) return NULL;
  if (napi_set_named_property(env, object, key, value) != napi_ok) return NULL;
  return object;
}

static napi_value set_number(napi_env env, napi_value object, const char *key, double number) {
  napi_value value;
  if (napi_create_double(env, number, &value) != napi_ok) return NULL;
  if (napi_set_named_property(env, object, key, value) != napi_ok) return NULL;
  return object;
}

/*
 * DuckDB's mallctl, with the library's path in `library` and its handle in `*handle` (to
 * dlclose); or NULL, with `*result` (a new object) carrying an `error` saying what is missing, or
 * NULL itself if making that failed (an exception is pending).
 */
static mallctl_fn duckdb_mallctl(napi_env env, napi_value *result, char *library, void **handle) {
  char error[4352];
  if (napi_create_object(env, result) != napi_ok) {
    napi_throw_error(env, "EINTERNAL", "duckdb_allocator: napi_create_object failed");
    *result = NULL;
    return NULL;
  }
  library[0] = '\0';
  *handle = NULL;
  dl_iterate_phdr(find_duckdb, library);
  if (library[0] == '\0') {
    set_string(env, *result, "error", "no DuckDB library (libduckdb*) is loaded in this process");
    return NULL;
  }
  // RTLD_NOLOAD: the copy DuckDB runs on, never a second one.
  *handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
  mallctl_fn mallctl = *handle ? (mallctl_fn)dlsym(*handle, "duckdb_je_mallctl") : NULL;
  if (!mallctl) {
    snprintf(error, sizeof error, "%s has no duckdb_je_mallctl: a DuckDB build without its bundled jemalloc", library);
    set_string(env, *result, "error", error);
    if (*handle) dlclose(*handle);
    *handle = NULL;
  }
  return mallctl;
}

napi_value set_duckdb_allocator_decay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t requested = 0;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &requested) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "setDuckDbAllocatorDecay(decayMs)");
    return NULL;
  }
  if (requested < -1 || requested > 3600000) {
    napi_throw_range_error(env, "ERANGE", "setDuckDbAllocatorDecay: decayMs must be -1 .. 3600000");
    return NULL;
  }
  napi_value result;
  char library[4096];
  void *handle;
  mallctl_fn mallctl = duckdb_mallctl(env, &result, library, &handle);
  if (!mallctl) return result;
  char error[4352];

  ssize_t decay = (ssize_t)requested;
  ssize_t configured = 0;
  size_t length = sizeof configured;
  unsigned arenas = 0;
  size_t arenas_length = sizeof arenas;
  int failed = mallctl("opt.dirty_decay_ms", &configured, &length, NULL, 0);
  if (!failed) failed = mallctl("arenas.narenas", &arenas, &arenas_length, NULL, 0);
  if (!failed) failed = mallctl("arenas.dirty_decay_ms", NULL, NULL, &decay, sizeof decay);
  if (!failed) failed = mallctl("arenas.muzzy_decay_ms", NULL, NULL, &decay, sizeof decay);
  unsigned set = 0;
  char name[64];
  for (unsigned arena = 0; !failed && arena < arenas; arena++) {
    // An arena not created yet answers EFAULT; it takes the new default when it is.
    snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", arena);
    int status = mallctl(name, NULL, NULL, &decay, sizeof decay);
    if (status == EFAULT) continue;
    if (!status) {
      snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", arena);
      status = mallctl(name, NULL, NULL, &decay, sizeof decay);
    }
    if (status) failed = status;
    else set++;
  }
  ssize_t applied = 0;
  length = sizeof applied;
  if (!failed) failed = mallctl("arena.0.dirty_decay_ms", &applied, &length, NULL, 0);
  dlclose(handle);
  if (failed) {
    snprintf(error, sizeof error, "%s: jemalloc refused the decay settings (%s)", library, strerror(failed));
    return set_string(env, result, "error", error);
  }
  if (!set_string(env, result, "library", library) || !set_number(env, result, "configuredMs", (double)configured) ||
      !set_number(env, result, "appliedMs", (double)applied) || !set_number(env, result, "arenas", set)) {
    napi_throw_error(env, "EINTERNAL", "setDuckDbAllocatorDecay: building the result failed");
    return NULL;
  }
  return result;
}

napi_value purge_duckdb_freed_memory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  char library[4096];
  void *handle;
  mallctl_fn mallctl = duckdb_mallctl(env, &result, library, &handle);
  if (!mallctl) return result;

  char error[4352];
  unsigned arenas = 0;
  size_t arenas_length = sizeof arenas;
  int failed = mallctl("arenas.narenas", &arenas, &arenas_length, NULL, 0);
  unsigned purged = 0;
  char name[64];
  for (unsigned arena = 0; !failed && arena < arenas; arena++) {
    snprintf(name, sizeof name, "arena.%u.purge", arena);
    int status = mallctl(name, NULL, NULL, NULL, 0);
    if (status == EFAULT) continue; // not created yet: nothing to purge
    if (status) failed = status;
    else purged++;
  }
  dlclose(handle);
  if (failed) {
    snprintf(error, sizeof error, "%s: jemalloc refused to purge (%s)", library, strerror(failed));
    return set_string(env, result, "error", error);
  }
  if (!set_string(env, result, "library", library) || !set_number(env, result, "arenas", purged)) {
    napi_throw_error(env, "EINTERNAL", "purgeDuckDbFreedMemory: building the result failed");
    return NULL;
  }
  return result;
}
