/*
 * Paced UDP sender for the benchmark: sendmmsg in batches, fast enough to outrun any Node
 * receiver on this box. It cycles through datagram templates and writes a fresh counter into
 * every 12-character "XXXXXXXXXXXX" placeholder, so each event has a unique id.
 *
 * usage: sender HOST PORT DATAGRAMS_PER_SECOND SECONDS TEMPLATE_FILE
 * TEMPLATE_FILE: datagrams separated by a line holding only "%%"
 * prints: sent=<datagrams> seconds=<elapsed>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAX_TEMPLATES 256
#define MAX_SLOTS 32
#define PLACEHOLDER "XXXXXXXXXXXX"
#define PLACEHOLDER_LEN 12

struct template {
  char *data;
  size_t len;
  size_t slots[MAX_SLOTS];
  int slot_count;
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST PORT DATAGRAMS_PER_SECOND SECONDS TEMPLATE_FILE\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  double rate = atof(argv[3]);
  double seconds = atof(argv[4]);
  FILE *file = fopen(argv[5], "rb");
  if (!file || port <= 0 || rate <= 0 || seconds <= 0) {
    fprintf(stderr, "sender: bad arguments or unreadable template file\n");
    return 2;
  }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *all = malloc(size + 1);
  if (fread(all, 1, size, file) != (size_t)size) return 2;
  all[size] = 0;
  fclose(file);

  static struct template templates[MAX_TEMPLATES];
  int count = 0;
  char *cursor = all;
  while (*cursor && count < MAX_TEMPLATES) {
    char *end = strstr(cursor, "\n%%\n");
    size_t len = end ? (size_t)(end - cursor) : strlen(cursor);
    struct template *t = &templates[count++];
    t->data = malloc(len);
    memcpy(t->data, cursor, len);
    t->len = len;
    t->slot_count = 0;
    for (size_t i = 0; i + PLACEHOLDER_LEN <= len && t->slot_count < MAX_SLOTS; i++) {
      if (memcmp(t->data + i, PLACEHOLDER, PLACEHOLDER_LEN) == 0) {
        t->slots[t->slot_count++] = i;
        i += PLACEHOLDER_LEN - 1;
      }
    }
    if (!end) break;
    cursor = end + 4;
  }
  if (count == 0) {
    fprintf(stderr, "sender: no templates\n");
    return 2;
  }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, host, &to.sin_addr);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
    perror("connect");
    return 2;
  }

  static char buffers[BATCH][65536];
  struct mmsghdr messages[BATCH];
  struct iovec iov[BATCH];
  unsigned long long sent = 0, counter = 0;
  double start = now_seconds();
  double deadline = start + seconds;
  int next = 0;
  for (;;) {
    double now = now_seconds();
    if (now >= deadline) break;
    unsigned long long due = (unsigned long long)((now - start) * rate);
    if (sent >= due) {
      /* Ahead of schedule: sleep a little rather than spin. */
      struct timespec pause = {0, 50000};
      nanosleep(&pause, NULL);
      continue;
    }
    unsigned long long want = due - sent;
    int n = want > BATCH ? BATCH : (int)want;
    for (int i = 0; i < n; i++) {
      struct template *t = &templates[next];
      next = (next + 1) % count;
      memcpy(buffers[i], t->data, t->len);
      for (int s = 0; s < t->slot_count; s++) {
        char digits[PLACEHOLDER_LEN + 1];
        snprintf(digits, sizeof digits, "%012llu", counter++);
        memcpy(buffers[i] + t->slots[s], digits, PLACEHOLDER_LEN);
      }
      iov[i].iov_base = buffers[i];
      iov[i].iov_len = t->len;
      memset(&messages[i], 0, sizeof messages[i]);
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    int done = sendmmsg(fd, messages, n, 0);
    if (done > 0) sent += done;
  }
  printf("sent=%llu seconds=%.3f\n", sent, now_seconds() - start);
  return 0;
}
