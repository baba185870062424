/*
 * Batched UDP receive for the collector: recvmmsg(2) into buffers that JavaScript owns, driven
 * by a uv_poll_t on the event loop, so one call into JavaScript carries up to `slots`
 * datagrams. Node 20's dgram makes one recvmsg, one Buffer, one address object and one
 * callback per datagram; at one event per datagram that overhead is most of the receiving
 * thread's time. Linux only (recvmmsg).
 *
 * JavaScript API (see app/src/source/recvmmsg-socket.ts):
 *   udpOpen(host, port, ipv6Only, recvBufferBytes, payloads, meta, onBatch)
 *     payloads: ArrayBuffer of slots × slotBytes; datagram i is copied to i × slotBytes.
 *     meta: Int32Array of slots × 7; per datagram: length, family (4 or 6), port, then the
 *           address as 4 words, most significant first (IPv4: the first word only).
 *     A datagram longer than slotBytes is cut to slotBytes: make a slot one byte longer than
 *     the largest datagram accepted, and a cut one is seen as too large.
 *     onBatch(count) is called on the event loop after each recvmmsg that returned datagrams.
 *     Returns { handle, port, recvBufferBytes }, or throws an Error whose code is the errno name.
 *   udpClose(handle): stops polling and closes the socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "udp_batch_core.h"

/* Batches per readable event before yielding to the rest of the loop (level-triggered poll). */
#define BATCHES_PER_WAKEUP 16

typedef struct {
  napi_env env;
  napi_ref on_batch;
  napi_ref payloads_ref;
  napi_ref meta_ref;
  napi_async_context async_context;
  uint8_t *payloads;
  int32_t *meta;
  size_t slot_bytes;
  unsigned slots;
  struct mmsghdr *messages;
  struct iovec *vectors;
  struct sockaddr_in6 *addresses;
  uv_poll_t poll;
  int fd;
  int closed;
} receiver_t;

#define CHECK(call) ADDON_CHECK("udp_batch", call)

static napi_value throw_errno(napi_env env, const char *what, int error) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  const char *code = error == EADDRINUSE      ? "EADDRINUSE"
                     : error == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : error == EAFNOSUPPORT  ? "EAFNOSUPPORT"
                     : error == EACCES        ? "EACCES"
                     : error == EINVAL        ? "EINVAL"
                                              : "ESYSCALL";
  napi_throw_error(env, code, message);
  return NULL;
}

static void fill_meta(receiver_t *r, unsigned count) { udp_batch_fill_meta(r->messages, r->addresses, count, r->meta); }

static void deliver(receiver_t *r, unsigned count) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, global, argument, result;
  if (napi_get_reference_value(env, r->on_batch, &callback) == napi_ok && napi_get_global(env, &global) == napi_ok &&
      napi_create_uint32(env, count, &argument) == napi_ok) {
    napi_status status = napi_make_callback(env, r->async_context, global, callback, 1, &argument, &result);
    if (status == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  receiver_t *r = poll->data;
  if (status < 0 || !(events & UV_READABLE)) return;
  for (int batch = 0; batch < BATCHES_PER_WAKEUP && !r->closed; batch++) {
    int count = recvmmsg(r->fd, r->messages, r->slots, MSG_DONTWAIT, NULL);
    if (count <= 0) return; /* EAGAIN: drained. Anything else is retried at the next wakeup. */
    fill_meta(r, (unsigned)count);
    deliver(r, (unsigned)count);
    if ((unsigned)count < r->slots) return;
  }
}

static void on_closed(uv_handle_t *handle) {
  receiver_t *r = handle->data;
  close(r->fd);
  free(r->messages);
  free(r->vectors);
  free(r->addresses);
  free(r);
}

static void release(napi_env env, receiver_t *r) {
  napi_delete_reference(env, r->on_batch);
  napi_delete_reference(env, r->payloads_ref);
  napi_delete_reference(env, r->meta_ref);
  napi_async_destroy(env, r->async_context);
}

napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) {
    napi_throw_type_error(env, NULL, "udpOpen(host, port, ipv6Only, recvBufferBytes, payloads, meta, onBatch)");
    return NULL;
  }
  char host[INET6_ADDRSTRLEN + 1];
  size_t host_length;
  uint32_t port, recv_buffer_bytes;
  bool ipv6_only;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_length));
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &ipv6_only));
  CHECK(napi_get_value_uint32(env, argv[3], &recv_buffer_bytes));
  void *payloads, *meta;
  size_t payloads_bytes, meta_length;
  napi_typedarray_type meta_type;
  napi_value meta_buffer;
  size_t meta_offset;
  CHECK(napi_get_arraybuffer_info(env, argv[4], &payloads, &payloads_bytes));
  CHECK(napi_get_typedarray_info(env, argv[5], &meta_type, &meta_length, &meta, &meta_buffer, &meta_offset));
  if (meta_type != napi_int32_array || meta_length == 0 || meta_length % META_WORDS != 0) {
    napi_throw_type_error(env, NULL, "meta must be an Int32Array of slots × 7");
    return NULL;
  }
  unsigned slots = (unsigned)(meta_length / META_WORDS);
  if (payloads_bytes == 0 || payloads_bytes % slots != 0) {
    napi_throw_type_error(env, NULL, "payloads must be slots × slotBytes long");
    return NULL;
  }

  struct sockaddr_in6 address6;
  struct sockaddr_in address4;
  memset(&address6, 0, sizeof address6);
  memset(&address4, 0, sizeof address4);
  int family;
  if (inet_pton(AF_INET, host, &address4.sin_addr) == 1) {
    family = AF_INET;
    address4.sin_family = AF_INET;
    address4.sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &address6.sin6_addr) == 1) {
    family = AF_INET6;
    address6.sin6_family = AF_INET6;
    address6.sin6_port = htons((uint16_t)port);
  } else {
    napi_throw_error(env, "EINVAL", "host must be an IPv4 or IPv6 address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int only = ipv6_only ? 1 : 0;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only) < 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, "IPV6_V6ONLY", error);
  }
  /* No SO_REUSEADDR: on UDP it would let a second collector bind the same port silently. */
  int bound = family == AF_INET ? bind(fd, (struct sockaddr *)&address4, sizeof address4)
                                : bind(fd, (struct sockaddr *)&address6, sizeof address6);
  if (bound < 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, "bind", error);
  }
  if (recv_buffer_bytes > 0) {
    int requested = (int)recv_buffer_bytes;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &requested, sizeof requested);
  }
  int effective = 0;
  socklen_t effective_length = sizeof effective;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &effective_length);
  struct sockaddr_in6 local;
  socklen_t local_length = sizeof local;
  getsockname(fd, (struct sockaddr *)&local, &local_length);

  receiver_t *r = calloc(1, sizeof *r);
  r->env = env;
  r->fd = fd;
  r->slots = slots;
  r->slot_bytes = payloads_bytes / slots;
  r->payloads = payloads;
  r->meta = meta;
  r->messages = calloc(slots, sizeof *r->messages);
  r->vectors = calloc(slots, sizeof *r->vectors);
  r->addresses = calloc(slots, sizeof *r->addresses);
  udp_batch_layout(r->payloads, r->slot_bytes, slots, r->messages, r->vectors, r->addresses);
  napi_value resource_name;
  CHECK(napi_create_string_utf8(env, "UDPBATCH", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, NULL, resource_name, &r->async_context));
  CHECK(napi_create_reference(env, argv[4], 1, &r->payloads_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &r->meta_ref));
  CHECK(napi_create_reference(env, argv[6], 1, &r->on_batch));

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  r->poll.data = r;
  if (uv_poll_init_socket(loop, &r->poll, fd) != 0 || uv_poll_start(&r->poll, UV_READABLE, on_readable) != 0) {
    release(env, r);
    close(fd);
    napi_throw_error(env, "EINTERNAL", "uv_poll on the UDP socket failed");
    return NULL;
  }

  napi_value result, handle, bound_port, buffer_size;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_external(env, r, NULL, NULL, &handle));
  CHECK(napi_create_uint32(env, ntohs(local.sin6_port), &bound_port));
  CHECK(napi_create_int32(env, effective, &buffer_size));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  CHECK(napi_set_named_property(env, result, "port", bound_port));
  CHECK(napi_set_named_property(env, result, "recvBufferBytes", buffer_size));
  return result;
}

napi_value udp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver_t *r;
  CHECK(napi_get_value_external(env, argv[0], (void **)&r));
  if (r->closed) return NULL;
  r->closed = 1;
  uv_poll_stop(&r->poll);
  release(env, r);
  uv_close((uv_handle_t *)&r->poll, on_closed);
  return NULL;
}
