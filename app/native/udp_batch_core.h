/*
 * The batch receiver's bookkeeping without a socket or N-API (udp_batch.c binds it): laying out
 * the recvmmsg vectors over JavaScript's payload buffer, and turning what recvmmsg reported into
 * the meta rows JavaScript reads. The fuzz target in app/native/fuzz drives exactly this code.
 */
#ifndef COLLECTOR_UDP_BATCH_CORE_H
#define COLLECTOR_UDP_BATCH_CORE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct mmsghdr; define it before any system header */
#endif
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Per datagram: length, family (4 or 6), port, then the address as 4 words (IPv4: the first). */
#define META_WORDS 7

/* Points slot i's vector at payloads + i × slot_bytes and its name at addresses[i]. */
void udp_batch_layout(uint8_t *payloads, size_t slot_bytes, unsigned slots, struct mmsghdr *messages, struct iovec *vectors,
                      struct sockaddr_in6 *addresses);

/* Writes the meta rows of the first `count` messages and resets their headers for the next call. */
void udp_batch_fill_meta(struct mmsghdr *messages, const struct sockaddr_in6 *addresses, unsigned count, int32_t *meta);

#endif
