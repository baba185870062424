/*
 * A fast path for decoding wire protocol v1 on the receiving thread. At six events per datagram,
 * UTF-8 decoding, JSON.parse and the validation of each line were over a third of that thread's
 * time, and most of it built strings and objects that were dropped at once: an accepted line is
 * stored as its bytes, and ingest needs only its client time, its id's fingerprint and its session.
 *
 * This scanner answers one question per line: is it certainly a valid event? It says yes only for
 * the plain form that clients write (ASCII strings without escapes, integers without fraction or
 * exponent, no repeated known field); for anything else it answers "don't know", and JavaScript
 * decodes that line with JSON.parse and checkEvent as before. Every rejection and its detail
 * therefore still comes from one place (protocol/decode.ts); this file can only make a line
 * faster, and a differential test against JSON.parse + checkEvent holds it to that.
 *
 * JavaScript API (see app/src/protocol/native-decode.ts):
 *   eventScanConfigure(version, idLength, labelLength, nameLength, codeLength,
 *                      types, playbackTypes, sources, stallRequiredOn, codeRequiredOn, fields)
 *     The protocol's facts, from protocol/event.ts (fields: every field name in declared
 *     order); must be called before eventScan.
 *   eventScan(buffer, start, end, results) -> lines
 *     Scans bytes [start, end) of buffer as "\n"-separated lines and writes one row of
 *     RESULT_STRIDE numbers per non-empty line into the Float64Array results:
 *       status (1 valid, 0 decode in JavaScript), line start, line end, t,
 *       id fingerprint high, low (as pipeline/fingerprint-table.ts's fingerprintOf), sid start, sid end.
 *     Stops when results is full; the caller continues after the last line's end.
 *   eventScanRows(buffer, start, end, layout, suffix, out, outAt, results) -> lines
 *     The same scan, for the ClickHouse store: each valid line's row in RowBinary, its columns
 *     as `layout` names them (event_scan_core.h), then the bytes of `suffix`, written to the
 *     Buffer out from outAt. Result rows: status, line start, line end, t, where out ends.
 *     Stops after a line with status 0 (JavaScript writes its row), when results is full, or
 *     when out might not hold the next row.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addon.h"
#include "event_scan_core.h"

#define CHECK(call) ADDON_CHECK("event_scan", call)

static napi_value throw_invalid(napi_env env, const char *message) {
  napi_throw_type_error(env, "EINVAL", message);
  return NULL;
}

static int read_size(napi_env env, napi_value value, size_t *out) {
  int64_t number;
  if (napi_get_value_int64(env, value, &number) != napi_ok || number < 0) return 0;
  *out = (size_t)number;
  return 1;
}

static int read_name(napi_env env, napi_value value, name_t *name) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, name->text, sizeof name->text, &length) != napi_ok) return 0;
  if (length == 0 || length >= sizeof name->text - 1) return 0;
  name->length = length;
  return 1;
}

static int read_names(napi_env env, napi_value array, name_set_t *set) {
  uint32_t length;
  if (napi_get_array_length(env, array, &length) != napi_ok || length > MAX_NAMES) return 0;
  set->count = 0;
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    if (napi_get_element(env, array, i, &element) != napi_ok || !read_name(env, element, &set->names[i])) return 0;
    set->count++;
  }
  return 1;
}

napi_value event_scan_configure(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 11) return throw_invalid(env, "eventScanConfigure: expected 11 arguments");
  scan_protocol_t description;
  memset(&description, 0, sizeof description);
  if (napi_get_value_double(env, argv[0], &description.version) != napi_ok || !read_size(env, argv[1], &description.id_length) ||
      !read_size(env, argv[2], &description.label_length) || !read_size(env, argv[3], &description.name_length) ||
      !read_size(env, argv[4], &description.code_length) || !read_names(env, argv[5], &description.types) ||
      !read_names(env, argv[6], &description.playback) || !read_names(env, argv[7], &description.sources) ||
      !read_name(env, argv[8], &description.stall) || !read_name(env, argv[9], &description.code) ||
      !read_names(env, argv[10], &description.fields))
    return throw_invalid(env, "eventScanConfigure: bad protocol description");
  const char *problem = event_scan_set_protocol(&description);
  if (problem) {
    char message[128];
    snprintf(message, sizeof message, "eventScanConfigure: %s", problem);
    return throw_invalid(env, message);
  }
  return NULL;
}

/* What both scans take: bytes [start, end) of a Buffer, and a Float64Array for the result rows. */
typedef struct {
  uint8_t *buffer;
  size_t start, end;
  double *results;
  size_t capacity;
} scan_arguments_t;

/* Reads the shared arguments; returns NULL, or what is wrong with them. */
static const char *read_scan_arguments(napi_env env, napi_value buffer, napi_value start, napi_value end, napi_value results,
                                       scan_arguments_t *out) {
  size_t buffer_length;
  if (napi_get_buffer_info(env, buffer, (void **)&out->buffer, &buffer_length) != napi_ok) return "buffer must be a Buffer";
  if (!read_size(env, start, &out->start) || !read_size(env, end, &out->end) || out->start > out->end || out->end > buffer_length)
    return "start and end must lie within the buffer";
  napi_typedarray_type type;
  size_t result_length;
  void *data;
  if (napi_get_typedarray_info(env, results, &type, &result_length, &data, NULL, NULL) != napi_ok || type != napi_float64_array)
    return "results must be a Float64Array";
  out->results = data;
  out->capacity = result_length / RESULT_STRIDE;
  return NULL;
}

static napi_value throw_argument(napi_env env, const char *function, const char *problem) {
  char message[128];
  snprintf(message, sizeof message, "%s: %s", function, problem);
  return throw_invalid(env, message);
}

napi_value event_scan(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!event_scan_configured()) return throw_invalid(env, "eventScan: call eventScanConfigure first");
  if (argc != 4) return throw_invalid(env, "eventScan: expected (buffer, start, end, results)");
  scan_arguments_t scan;
  const char *problem = read_scan_arguments(env, argv[0], argv[1], argv[2], argv[3], &scan);
  if (problem) return throw_argument(env, "eventScan", problem);
  size_t lines = event_scan_lines(scan.buffer, scan.start, scan.end, scan.results, scan.capacity);
  napi_value count;
  CHECK(napi_create_uint32(env, (uint32_t)lines, &count));
  return count;
}

napi_value event_scan_rows(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!event_scan_configured()) return throw_invalid(env, "eventScanRows: call eventScanConfigure first");
  if (argc != 8) return throw_invalid(env, "eventScanRows: expected (buffer, start, end, layout, suffix, out, outAt, results)");
  scan_arguments_t scan;
  const char *problem = read_scan_arguments(env, argv[0], argv[1], argv[2], argv[7], &scan);
  if (problem) return throw_argument(env, "eventScanRows", problem);
  uint8_t *layout, *suffix, *out;
  size_t layout_length, suffix_length, out_length, out_at;
  if (napi_get_buffer_info(env, argv[3], (void **)&layout, &layout_length) != napi_ok || !event_rows_layout_ok(layout, layout_length))
    return throw_invalid(env, "eventScanRows: layout must be a Buffer of known columns");
  if (napi_get_buffer_info(env, argv[4], (void **)&suffix, &suffix_length) != napi_ok)
    return throw_invalid(env, "eventScanRows: suffix must be a Buffer");
  if (napi_get_buffer_info(env, argv[5], (void **)&out, &out_length) != napi_ok)
    return throw_invalid(env, "eventScanRows: out must be a Buffer");
  if (!read_size(env, argv[6], &out_at) || out_at > out_length) return throw_invalid(env, "eventScanRows: outAt must lie within out");
  size_t lines = event_rows_scan(scan.buffer, scan.start, scan.end, layout, layout_length, suffix, suffix_length, out, out_at, out_length,
                                 scan.results, scan.capacity);
  napi_value count;
  CHECK(napi_create_uint32(env, (uint32_t)lines, &count));
  return count;
}
