#ifndef NATIVE_BLOCK_CORE_H
#define NATIVE_BLOCK_CORE_H
#include <stddef.h>
#include <stdint.h>

/*
 * ClickHouse's Native format, the server's own block layout, from RowBinary rows. RowBinary is
 * row after row; Native is one column after another, which the server reads a column at a time
 * instead of a value at a time (docs/adr/0021). Both write a String as a LEB128 length and its
 * bytes and an Int64 as 8 bytes little-endian, so a value's bytes are copied as they are. A
 * Nullable column is a null map (a byte per row, 1 for NULL) followed by the nested column, in
 * which a NULL row holds the type's default: an empty String (one 0 byte) or 8 zero bytes.
 *
 * The column types, one byte each: NATIVE_COLUMN_INT64 (else String), NATIVE_COLUMN_NULLABLE.
 */
#define NATIVE_COLUMN_INT64 0x40
#define NATIVE_COLUMN_NULLABLE 0x80
#define NATIVE_MAX_COLUMNS 64

/*
 * Writes `rows` RowBinary rows of `types` (in[0, in_length)) as a Native block: the column and
 * row counts, then each column's header (headers[header_ends[c-1], header_ends[c]), its name and
 * type as Native strings) and data. Returns the bytes written. Returns 0 when the rows are
 * malformed (a null flag other than 0 or 1, a value past the end, bytes left over), with
 * *needed 0, or when the block would not fit in out_capacity, with *needed its size.
 */
size_t native_block_write(const uint8_t *in, size_t in_length, size_t rows, const uint8_t *types, size_t columns, const uint8_t *headers,
                          const uint32_t *header_ends, uint8_t *out, size_t out_capacity, size_t *needed);

#endif
