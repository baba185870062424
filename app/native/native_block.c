/*
 * ClickHouse Native blocks from RowBinary rows, for the ClickHouse store's inserts (see
 * native_block_core.h and app/src/store/native-block.ts).
 *
 * JavaScript API:
 *   nativeBlockWrite(rows, rowsLength, count, types, headers, headerEnds, out) -> number
 *     Bytes [0, rowsLength) of the Buffer rows hold `count` RowBinary rows whose columns have
 *     `types` (a Buffer, a type byte per column); headers holds each column's Native header
 *     (name and type) one after another, headerEnds (a Uint32Array) where each one ends. Writes
 *     the block to the Buffer out and returns its length; returns 0 when the rows are malformed,
 *     and minus the block's length when out is too small.
 */
#include <node_api.h>
#include <stdint.h>

#include "addon.h"
#include "event_scan_core.h"
#include "native_block_core.h"

/* JavaScript passes the type bits of the row encoder's layout byte (row-binary.ts) as the block's types. */
_Static_assert(NATIVE_COLUMN_INT64 == ROW_COLUMN_INT64 && NATIVE_COLUMN_NULLABLE == ROW_COLUMN_NULLABLE,
               "the Native block's type bits must be the RowBinary layout's");

#define CHECK(call) ADDON_CHECK("native_block", call)

static napi_value invalid(napi_env env, const char *message) {
  napi_throw_type_error(env, "EINVAL", message);
  return NULL;
}

napi_value native_block_write_js(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) return invalid(env, "nativeBlockWrite: expected (rows, rowsLength, count, types, headers, headerEnds, out)");
  uint8_t *rows, *types, *headers, *out;
  size_t rows_capacity, columns, headers_length, out_capacity, ends_length;
  int64_t rows_length, count;
  if (napi_get_buffer_info(env, argv[0], (void **)&rows, &rows_capacity) != napi_ok)
    return invalid(env, "nativeBlockWrite: rows must be a Buffer");
  if (napi_get_value_int64(env, argv[1], &rows_length) != napi_ok || rows_length < 0 || (uint64_t)rows_length > rows_capacity)
    return invalid(env, "nativeBlockWrite: rowsLength must lie within rows");
  if (napi_get_value_int64(env, argv[2], &count) != napi_ok || count < 0) return invalid(env, "nativeBlockWrite: count must be >= 0");
  if (napi_get_buffer_info(env, argv[3], (void **)&types, &columns) != napi_ok || columns == 0 || columns > NATIVE_MAX_COLUMNS)
    return invalid(env, "nativeBlockWrite: types must be a Buffer of 1 to 64 column types");
  if (napi_get_buffer_info(env, argv[4], (void **)&headers, &headers_length) != napi_ok)
    return invalid(env, "nativeBlockWrite: headers must be a Buffer");
  napi_typedarray_type type;
  void *ends;
  if (napi_get_typedarray_info(env, argv[5], &type, &ends_length, &ends, NULL, NULL) != napi_ok || type != napi_uint32_array ||
      ends_length != columns)
    return invalid(env, "nativeBlockWrite: headerEnds must be a Uint32Array with an end per column");
  const uint32_t *header_ends = ends;
  for (size_t column = 0; column < columns; column++)
    if (header_ends[column] > headers_length || (column && header_ends[column] < header_ends[column - 1]))
      return invalid(env, "nativeBlockWrite: headerEnds must rise within headers");
  if (napi_get_buffer_info(env, argv[6], (void **)&out, &out_capacity) != napi_ok)
    return invalid(env, "nativeBlockWrite: out must be a Buffer");
  size_t needed;
  size_t written = native_block_write(rows, (size_t)rows_length, (size_t)count, types, columns, headers, header_ends, out, out_capacity, &needed);
  napi_value result;
  CHECK(napi_create_double(env, written ? (double)written : -(double)needed, &result));
  return result;
}
