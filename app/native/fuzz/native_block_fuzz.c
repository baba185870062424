/*
 * libFuzzer target for the Native block writer (native_block_core.c): the input chooses the
 * column types and the row count, and the rest is taken as RowBinary rows. The writer must refuse
 * what is not exactly `rows` rows of those types, and otherwise write exactly the size it asked
 * for (into a buffer of that size, so AddressSanitizer catches a byte past it); reading the block
 * back column by column and writing each row again as RowBinary must give back the input, except
 * that a NULL's value is the type's default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../native_block_core.h"

static void fail(const char *why) {
  fprintf(stderr, "native_block oracle: %s\n", why);
  abort();
}

/* The oracle reads LEB128 its own way (the last byte first), not through leb128.h, so a bug there cannot hide from it. */
static size_t read_length(const uint8_t *in, size_t at, size_t end, uint64_t *value) {
  size_t last = 0;
  while (at + last < end && last < 9 && (in[at + last] & 0x80)) last++;
  if (at + last >= end || last == 9) return 0;
  uint64_t result = 0;
  for (size_t byte = last + 1; byte-- > 0;) result = (result << 7) | (in[at + byte] & 0x7f);
  *value = result;
  return last + 1;
}

/* The bytes of one value of the nested (not Nullable) column at in[at]. */
static size_t value_bytes(const uint8_t *in, size_t at, size_t end, uint8_t type) {
  if (type & NATIVE_COLUMN_INT64) return 8;
  uint64_t length;
  size_t prefix = read_length(in, at, end, &length);
  if (!prefix) fail("a String's length in the block");
  return prefix + (size_t)length;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t columns = 1 + data[0] % 8;
  if (size < 2 + columns) return 0;
  size_t rows = data[1] % 16;
  uint8_t types[8];
  for (size_t column = 0; column < columns; column++) types[column] = data[2 + column] & (NATIVE_COLUMN_INT64 | NATIVE_COLUMN_NULLABLE);
  const uint8_t *in = data + 2 + columns;
  size_t in_length = size - 2 - columns;
  /* Headers: one byte per column, its index, enough to find each column in the block. */
  uint8_t headers[8];
  uint32_t header_ends[8];
  for (size_t column = 0; column < columns; column++) {
    headers[column] = (uint8_t)column;
    header_ends[column] = (uint32_t)column + 1;
  }

  size_t needed;
  uint8_t probe;
  if (native_block_write(in, in_length, rows, types, columns, headers, header_ends, &probe, 0, &needed) != 0) fail("wrote into 0 bytes");
  if (needed == 0) return 0; /* refused as malformed */
  uint8_t *block = malloc(needed);
  size_t again;
  size_t written = native_block_write(in, in_length, rows, types, columns, headers, header_ends, block, needed, &again);
  if (written != needed || again != needed) fail("wrote other than the size it asked for");

  /* Read the block: counts, then per column its header, null map and values. */
  /* Both counts are below 128, so each is one LEB128 byte. */
  if (block[0] != columns || block[1] != rows) fail("counts");
  size_t at = 2;
  size_t null_maps[8], value_starts[8];
  for (size_t column = 0; column < columns; column++) {
    if (block[at++] != column) fail("a column's header");
    null_maps[column] = at;
    if (types[column] & NATIVE_COLUMN_NULLABLE) at += rows;
    value_starts[column] = at;
    for (size_t row = 0; row < rows; row++) at += value_bytes(block, at, written, types[column]);
  }
  if (at != written) fail("the block's length");

  /* Write each row again as RowBinary; it must be the input, NULLs aside. */
  size_t from = 0;
  size_t cursor[8];
  memcpy(cursor, value_starts, sizeof cursor);
  for (size_t row = 0; row < rows; row++) {
    for (size_t column = 0; column < columns; column++) {
      size_t bytes = value_bytes(block, cursor[column], written, types[column]);
      if (types[column] & NATIVE_COLUMN_NULLABLE) {
        uint8_t is_null = block[null_maps[column] + row];
        if (is_null > 1 || in[from++] != is_null) fail("a null flag");
        if (is_null) {
          for (size_t byte = 0; byte < bytes; byte++)
            if (block[cursor[column] + byte] != 0) fail("a NULL's default");
          cursor[column] += bytes;
          continue;
        }
      }
      if (from + bytes > in_length || memcmp(in + from, block + cursor[column], bytes) != 0) fail("a value");
      from += bytes;
      cursor[column] += bytes;
    }
  }
  if (from != in_length) fail("rows left over in the input");
  free(block);
  return 0;
}
