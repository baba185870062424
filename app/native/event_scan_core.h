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

/*
 * RowBinary rows (ClickHouse's row format) for validated lines. A layout byte per column names
 * the field (its index in the declared order) and the column's type: String or Int64, Nullable
 * or not. A String is a LEB128 length and its bytes, an Int64 8 bytes little-endian, and a
 * Nullable value is preceded by a byte, 1 for NULL (then nothing follows) or 0.
 */
#define ROW_COLUMN_FIELD 0x1f
#define ROW_COLUMN_INT64 0x40
#define ROW_COLUMN_NULLABLE 0x80
/* Most bytes a column adds to its value's bytes in the line: a null flag and an Int64's 8 (a varint is shorter). */
#define ROW_COLUMN_OVERHEAD 9

/* Whether layout (`columns` bytes) names known fields, each once, and known types only. */
int event_rows_layout_ok(const uint8_t *layout, size_t columns);

/*
 * Scans lines as event_scan_lines does and, for each line it calls valid, writes the line's row
 * (layout's columns) and then `suffix` (the batch's own columns, already RowBinary) to out from
 * out_at. Result rows: status, line start, line end, t, where out ends after this line's row.
 * Stops after a line it does not call valid (status 0: JavaScript writes that row), when results
 * is full, or before a line whose row might not fit in out_capacity. Returns the rows written.
 */
size_t event_rows_scan(const uint8_t *buffer, size_t start, size_t end, const uint8_t *layout, size_t columns, const uint8_t *suffix,
                       size_t suffix_length, uint8_t *out, size_t out_at, size_t out_capacity, double *results, size_t capacity);

#endif
