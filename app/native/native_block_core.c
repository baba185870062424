/*
 * The Native block writer's pure part (see native_block_core.h for the format); it reads only
 * the rows it is given, so the fuzz target in app/native/fuzz exercises exactly this code.
 */
#include "native_block_core.h"

#include <string.h>

#include "leb128.h"

/*
 * The bytes of the value at in[at] of a column of `type`: *value_bytes is 0 for NULL. Returns
 * the bytes the value takes in the row (its null flag included), or 0 when it is malformed.
 */
static size_t row_value(const uint8_t *in, size_t at, size_t end, uint8_t type, size_t *value_start, size_t *value_bytes) {
  size_t flag = 0;
  if (type & NATIVE_COLUMN_NULLABLE) {
    if (at >= end || in[at] > 1) return 0;
    if (in[at] == 1) {
      *value_bytes = 0;
      return 1;
    }
    flag = 1;
  }
  size_t start = at + flag;
  size_t bytes;
  if (type & NATIVE_COLUMN_INT64) {
    bytes = 8;
  } else {
    uint64_t length;
    size_t prefix = leb128_read(in, start, end, &length);
    if (!prefix || length > end - start - prefix) return 0;
    bytes = prefix + (size_t)length;
  }
  if (bytes > end - start) return 0;
  *value_start = start;
  *value_bytes = bytes;
  return flag + bytes;
}

/* A NULL's bytes in the nested column: the type's default. */
static size_t default_bytes(uint8_t type) { return (type & NATIVE_COLUMN_INT64) ? 8 : 1; }

/* Each column's data bytes (null map and values); 0 when the rows are malformed. */
static int column_sizes(const uint8_t *in, size_t in_length, size_t rows, const uint8_t *types, size_t columns, size_t *sizes) {
  if (columns == 0 || columns > NATIVE_MAX_COLUMNS) return 0;
  for (size_t column = 0; column < columns; column++) sizes[column] = (types[column] & NATIVE_COLUMN_NULLABLE) ? rows : 0;
  size_t at = 0;
  for (size_t row = 0; row < rows; row++) {
    for (size_t column = 0; column < columns; column++) {
      size_t start = 0, bytes = 0;
      size_t taken = row_value(in, at, in_length, types[column], &start, &bytes);
      if (!taken) return 0;
      sizes[column] += bytes ? bytes : default_bytes(types[column]);
      at += taken;
    }
  }
  return at == in_length;
}

size_t native_block_write(const uint8_t *in, size_t in_length, size_t rows, const uint8_t *types, size_t columns, const uint8_t *headers,
                          const uint32_t *header_ends, uint8_t *out, size_t out_capacity, size_t *needed) {
  size_t sizes[NATIVE_MAX_COLUMNS];
  *needed = 0;
  if (!column_sizes(in, in_length, rows, types, columns, sizes)) return 0;
  size_t total = leb128_length(columns) + leb128_length(rows) + header_ends[columns - 1];
  for (size_t column = 0; column < columns; column++) total += sizes[column];
  *needed = total;
  if (total > out_capacity) return 0;

  /* Lay out each column: its header, its null map, its values; keep where each is written next. */
  size_t nulls[NATIVE_MAX_COLUMNS], values[NATIVE_MAX_COLUMNS];
  size_t at = leb128_put(out, columns);
  at += leb128_put(out + at, rows);
  for (size_t column = 0; column < columns; column++) {
    size_t header_start = column ? header_ends[column - 1] : 0;
    memcpy(out + at, headers + header_start, header_ends[column] - header_start);
    at += header_ends[column] - header_start;
    nulls[column] = at;
    values[column] = (types[column] & NATIVE_COLUMN_NULLABLE) ? at + rows : at;
    at += sizes[column];
  }

  size_t from = 0;
  for (size_t row = 0; row < rows; row++) {
    for (size_t column = 0; column < columns; column++) {
      size_t start = 0, bytes = 0;
      from += row_value(in, from, in_length, types[column], &start, &bytes);
      if (types[column] & NATIVE_COLUMN_NULLABLE) out[nulls[column]++] = bytes ? 0 : 1;
      if (bytes) {
        memcpy(out + values[column], in + start, bytes);
        values[column] += bytes;
      } else {
        memset(out + values[column], 0, default_bytes(types[column]));
        values[column] += default_bytes(types[column]);
      }
    }
  }
  return total;
}
