/*
 * The event scanner's pure part: no N-API, so that a fuzzer can drive it directly
 * (app/native/fuzz). event_scan.c binds it to JavaScript; the rules are described there.
 */
#ifndef COLLECTOR_EVENT_SCAN_CORE_H
#define COLLECTOR_EVENT_SCAN_CORE_H
#include <stddef.h>
#include <stdint.h>

#define RESULT_STRIDE 8
#define MAX_NAMES 32
#define MAX_NAME_BYTES 32

typedef struct {
  char text[MAX_NAME_BYTES];
  size_t length;
} name_t;

typedef struct {
  name_t names[MAX_NAMES];
  unsigned count;
} name_set_t;

/* The protocol's facts (protocol/event.ts), as eventScanConfigure passes them. */
typedef struct {
  double version;
  size_t id_length, label_length, name_length, code_length;
  name_set_t types;
  name_set_t playback;
  name_set_t sources;
  name_t stall, code;
  /* Every field name, in the order protocol/event.ts declares them (the order clients write). */
  name_set_t fields;
} scan_protocol_t;

/* Installs the protocol; returns NULL, or why it is not acceptable. */
const char *event_scan_set_protocol(const scan_protocol_t *description);

/* Whether a protocol is installed. */
int event_scan_configured(void);

/*
 * Scans bytes [start, end) of buffer as "\n"-separated lines, one row of RESULT_STRIDE numbers
 * per non-empty line into results (status, line start, line end, t, id fingerprint high, low,
 * sid start, sid end); stops when `capacity` rows are written. Returns the rows written.
 */
size_t event_scan_lines(const uint8_t *buffer, size_t start, size_t end, double *results, size_t capacity);

#endif
