/*
 * libFuzzer target for the batch receiver's bookkeeping (udp_batch_core.c): the input chooses
 * the slot layout and what recvmmsg "returned" (how many datagrams, their lengths and source
 * addresses, IPv4 or IPv6), exactly as the kernel fills struct mmsghdr. Every buffer is sized
 * exactly, so AddressSanitizer catches a write past the meta rows or a slot; the rows must say
 * what the addresses and lengths were, and the headers must be ready for the next call.
 */
#define _GNU_SOURCE /* struct mmsghdr */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../udp_batch_core.h"

static void fail(const char *why) {
  fprintf(stderr, "udp_batch oracle: %s\n", why);
  abort();
}

typedef struct {
  const uint8_t *data;
  size_t size, at;
} reader_t;

static uint32_t take(reader_t *in, unsigned bytes) {
  uint32_t value = 0;
  for (unsigned i = 0; i < bytes; i++) value = value << 8 | (in->at < in->size ? in->data[in->at++] : 0);
  return value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader_t in = {data, size, 0};
  unsigned slots = 1 + take(&in, 1) % 64;
  size_t slot_bytes = 1 + take(&in, 2) % 9000;
  unsigned count = take(&in, 1) % (slots + 1);
  uint8_t *payloads = malloc(slots * slot_bytes);
  struct mmsghdr *messages = calloc(slots, sizeof *messages);
  struct iovec *vectors = calloc(slots, sizeof *vectors);
  struct sockaddr_in6 *addresses = calloc(slots, sizeof *addresses);
  int32_t *meta = malloc(sizeof(int32_t) * META_WORDS * (count ? count : 1));
  udp_batch_layout(payloads, slot_bytes, slots, messages, vectors, addresses);
  for (unsigned i = 0; i < slots; i++) {
    if (messages[i].msg_hdr.msg_iov->iov_base != payloads + i * slot_bytes || messages[i].msg_hdr.msg_iov->iov_len != slot_bytes)
      fail("slot vector");
  }
  /* What recvmmsg reports: at most iov_len bytes, a source address of the socket's family. */
  for (unsigned i = 0; i < count; i++) {
    messages[i].msg_len = take(&in, 2) % (slot_bytes + 1);
    memset(payloads + i * slot_bytes, 'x', messages[i].msg_len);
    messages[i].msg_hdr.msg_flags = (int)take(&in, 1);
    messages[i].msg_hdr.msg_namelen = take(&in, 1);
    if (take(&in, 1) & 1) {
      struct sockaddr_in *v4 = (struct sockaddr_in *)&addresses[i];
      v4->sin_family = AF_INET;
      v4->sin_port = htons((uint16_t)take(&in, 2));
      v4->sin_addr.s_addr = htonl(take(&in, 4));
    } else {
      addresses[i].sin6_family = AF_INET6;
      addresses[i].sin6_port = htons((uint16_t)take(&in, 2));
      for (int b = 0; b < 16; b++) addresses[i].sin6_addr.s6_addr[b] = (uint8_t)take(&in, 1);
    }
  }
  udp_batch_fill_meta(messages, addresses, count, meta);
  for (unsigned i = 0; i < count; i++) {
    const int32_t *m = meta + i * META_WORDS;
    if (m[0] != (int32_t)messages[i].msg_len || m[0] < 0 || (size_t)m[0] > slot_bytes) fail("length");
    if (messages[i].msg_hdr.msg_namelen != sizeof(struct sockaddr_in6) || messages[i].msg_hdr.msg_flags != 0) fail("header not reset");
    if (addresses[i].sin6_family == AF_INET) {
      const struct sockaddr_in *v4 = (const struct sockaddr_in *)&addresses[i];
      if (m[1] != 4 || m[2] != ntohs(v4->sin_port) || (uint32_t)m[3] != ntohl(v4->sin_addr.s_addr) || m[4] || m[5] || m[6]) fail("IPv4 row");
    } else {
      if (m[1] != 6 || m[2] != ntohs(addresses[i].sin6_port)) fail("IPv6 row");
      for (int w = 0; w < 4; w++) {
        const uint8_t *bytes = addresses[i].sin6_addr.s6_addr + 4 * w;
        uint32_t word = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
        if ((uint32_t)m[3 + w] != word) fail("IPv6 address word");
      }
    }
    if (m[2] < 0 || m[2] > 65535) fail("port");
  }
  free(meta);
  free(addresses);
  free(vectors);
  free(messages);
  free(payloads);
  return 0;
}
