#define _GNU_SOURCE /* struct mmsghdr */
#include "udp_batch_core.h"

#include <arpa/inet.h>
#include <string.h>

void udp_batch_layout(uint8_t *payloads, size_t slot_bytes, unsigned slots, struct mmsghdr *messages, struct iovec *vectors,
                      struct sockaddr_in6 *addresses) {
  for (unsigned i = 0; i < slots; i++) {
    vectors[i].iov_base = payloads + i * slot_bytes;
    vectors[i].iov_len = slot_bytes;
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_name = &addresses[i];
    messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
  }
}

void udp_batch_fill_meta(struct mmsghdr *messages, const struct sockaddr_in6 *addresses, unsigned count, int32_t *meta) {
  for (unsigned i = 0; i < count; i++) {
    int32_t *m = meta + i * META_WORDS;
    struct msghdr *header = &messages[i].msg_hdr;
    m[0] = (int32_t)messages[i].msg_len;
    const struct sockaddr_in6 *from = &addresses[i];
    if (from->sin6_family == AF_INET) {
      const struct sockaddr_in *v4 = (const struct sockaddr_in *)from;
      m[1] = 4;
      m[2] = ntohs(v4->sin_port);
      m[3] = (int32_t)ntohl(v4->sin_addr.s_addr);
      m[4] = m[5] = m[6] = 0;
    } else {
      m[1] = 6;
      m[2] = ntohs(from->sin6_port);
      for (int w = 0; w < 4; w++) {
        uint32_t word;
        memcpy(&word, from->sin6_addr.s6_addr + 4 * w, 4);
        m[3 + w] = (int32_t)ntohl(word);
      }
    }
    /* recvmmsg rewrites these: reset for the next call. */
    header->msg_namelen = sizeof(struct sockaddr_in6);
    header->msg_flags = 0;
  }
}
