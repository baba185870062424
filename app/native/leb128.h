#ifndef LEB128_H
#define LEB128_H
#include <stddef.h>
#include <stdint.h>

/*
 * Unsigned LEB128, as ClickHouse's RowBinary and Native formats prefix a String with its length
 * (and Native its column and row counts): 7 bits a byte, low first, the high bit set on all but
 * the last byte.
 */
static inline size_t leb128_put(uint8_t *out, uint64_t value) {
  size_t written = 0;
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    out[written++] = byte | (value ? 0x80 : 0);
  } while (value);
  return written;
}

static inline size_t leb128_length(uint64_t value) {
  size_t length = 1;
  while (value >>= 7) length++;
  return length;
}

/* Reads one at in[at], at most 9 bytes and not past end; returns its bytes, or 0 when it does not end in time. */
static inline size_t leb128_read(const uint8_t *in, size_t at, size_t end, uint64_t *value) {
  uint64_t result = 0;
  for (size_t byte = 0; byte < 9 && at + byte < end; byte++) {
    result |= (uint64_t)(in[at + byte] & 0x7f) << (7 * byte);
    if (!(in[at + byte] & 0x80)) {
      *value = result;
      return byte + 1;
    }
  }
  return 0;
}

#endif
