/*
 * libFuzzer target for the event scanner (event_scan_core.c), built with AddressSanitizer and
 * UndefinedBehaviorSanitizer by lab/fuzz/run.ts. The datagram is copied into a buffer of exactly
 * its size, so any read past it is a crash. For every line the scanner calls certainly valid, an
 * independent strict JSON parser (json-c) must agree: one JSON object, with `v`, `t`, `type`
 * and `sid` as the scanner read them. The same input then goes through the RowBinary writer
 * (event_rows_scan) into an output buffer too small for all of it, so a write past its bound is
 * a crash; each row it writes is read back column by column and must equal json-c's value of
 * that field (absent: NULL). A disagreement aborts, and libFuzzer keeps the input. The protocol
 * and the store's column layout come from the JSON file named by FUZZ_PROTOCOL.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../event_scan_core.h"

#define CAPACITY 64
#define SUFFIX "\x02zz"

static uint8_t row_layout[32];
static size_t row_columns;
static const char *field_names[32];

static void fail(const char *why, const uint8_t *line, size_t length) {
  fprintf(stderr, "event_scan oracle: %s in line: %.*s\n", why, (int)length, (const char *)line);
  abort();
}

static void read_names(json_object *array, name_set_t *set) {
  set->count = (unsigned)json_object_array_length(array);
  for (unsigned i = 0; i < set->count; i++) {
    const char *text = json_object_get_string(json_object_array_get_idx(array, i));
    set->names[i].length = strlen(text);
    memcpy(set->names[i].text, text, set->names[i].length + 1);
  }
}

static void read_name(json_object *string, name_t *name) {
  const char *text = json_object_get_string(string);
  name->length = strlen(text);
  memcpy(name->text, text, name->length + 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *path = getenv("FUZZ_PROTOCOL");
  json_object *root = path ? json_object_from_file(path) : NULL;
  if (!root) {
    fprintf(stderr, "event_scan_fuzz: set FUZZ_PROTOCOL to the protocol description (lab/fuzz/run.ts writes it)\n");
    exit(2);
  }
  scan_protocol_t description;
  memset(&description, 0, sizeof description);
  json_object *field;
  json_object_object_get_ex(root, "version", &field), description.version = json_object_get_double(field);
  json_object_object_get_ex(root, "idLength", &field), description.id_length = (size_t)json_object_get_int(field);
  json_object_object_get_ex(root, "labelLength", &field), description.label_length = (size_t)json_object_get_int(field);
  json_object_object_get_ex(root, "nameLength", &field), description.name_length = (size_t)json_object_get_int(field);
  json_object_object_get_ex(root, "codeLength", &field), description.code_length = (size_t)json_object_get_int(field);
  json_object_object_get_ex(root, "types", &field), read_names(field, &description.types);
  json_object_object_get_ex(root, "playbackTypes", &field), read_names(field, &description.playback);
  json_object_object_get_ex(root, "sources", &field), read_names(field, &description.sources);
  json_object_object_get_ex(root, "stallRequiredOn", &field), read_name(field, &description.stall);
  json_object_object_get_ex(root, "codeRequiredOn", &field), read_name(field, &description.code);
  json_object_object_get_ex(root, "fields", &field), read_names(field, &description.fields);
  json_object_object_get_ex(root, "fields", &field);
  for (size_t i = 0; i < json_object_array_length(field) && i < 32; i++)
    field_names[i] = strdup(json_object_get_string(json_object_array_get_idx(field, i)));
  json_object_object_get_ex(root, "rowLayout", &field);
  row_columns = json_object_array_length(field);
  for (size_t i = 0; i < row_columns && i < 32; i++) row_layout[i] = (uint8_t)json_object_get_int(json_object_array_get_idx(field, i));
  if (!event_rows_layout_ok(row_layout, row_columns)) {
    fprintf(stderr, "event_scan_fuzz: the protocol's rowLayout is not acceptable\n");
    exit(2);
  }
  const char *problem = event_scan_set_protocol(&description);
  if (problem) {
    fprintf(stderr, "event_scan_fuzz: %s\n", problem);
    exit(2);
  }
  json_object_put(root);
  return 0;
}

/* The accepted line as strict JSON; aborts unless it is one object the scanner read correctly. */
static void check_accepted(const uint8_t *data, const double *row) {
  size_t start = (size_t)row[1], end = (size_t)row[2];
  const uint8_t *line = data + start;
  size_t length = end - start;
  size_t sid_start = (size_t)row[6], sid_end = (size_t)row[7];
  if (sid_start < start || sid_end > end || sid_start > sid_end) fail("sid outside its line", line, length);
  json_tokener *tokener = json_tokener_new();
  json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
  json_object *event = json_tokener_parse_ex(tokener, (const char *)line, (int)length);
  enum json_tokener_error error = json_tokener_get_error(tokener);
  size_t parsed = json_tokener_get_parse_end(tokener);
  json_tokener_free(tokener);
  if (!event || error != json_tokener_success) fail("accepted, but not strict JSON", line, length);
  for (size_t p = parsed; p < length; p++)
    if (line[p] != ' ' && line[p] != '\t' && line[p] != '\r') fail("accepted with bytes after the object", line, length);
  if (!json_object_is_type(event, json_type_object)) fail("accepted, but not an object", line, length);
  json_object *value;
  if (!json_object_object_get_ex(event, "t", &value) || !json_object_is_type(value, json_type_int) ||
      (double)json_object_get_int64(value) != row[3])
    fail("t differs", line, length);
  if (!json_object_object_get_ex(event, "v", &value) || !json_object_is_type(value, json_type_int)) fail("v is not an integer", line, length);
  if (!json_object_object_get_ex(event, "sid", &value) || !json_object_is_type(value, json_type_string) ||
      (size_t)json_object_get_string_len(value) != sid_end - sid_start ||
      memcmp(json_object_get_string(value), data + sid_start, sid_end - sid_start) != 0)
    fail("sid differs", line, length);
  if (!json_object_object_get_ex(event, "id", &value) || !json_object_is_type(value, json_type_string) || (row[4] == 0 && row[5] == 0))
    fail("id missing or fingerprint zero", line, length);
  json_object_put(event);
}

/* Reads one row back by the layout and compares each column with json-c's reading of the line. */
static void check_row(const uint8_t *line, size_t length, const uint8_t *row, size_t row_length) {
  json_tokener *tokener = json_tokener_new();
  json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
  json_object *event = json_tokener_parse_ex(tokener, (const char *)line, (int)length);
  json_tokener_free(tokener);
  if (!event) fail("row written for a line json-c does not parse", line, length);
  size_t at = 0;
  for (size_t column = 0; column < row_columns; column++) {
    const char *name = field_names[row_layout[column] & ROW_COLUMN_FIELD];
    json_object *value = NULL;
    int present = json_object_object_get_ex(event, name, &value);
    if (row_layout[column] & ROW_COLUMN_NULLABLE) {
      if (at >= row_length) fail("row shorter than its columns", line, length);
      if (row[at++] == 1) {
        if (present) fail("NULL written for a present field", line, length);
        continue;
      }
    }
    if (!present) fail("value written for an absent field", line, length);
    if (row_layout[column] & ROW_COLUMN_INT64) {
      if (at + 8 > row_length) fail("row shorter than its columns", line, length);
      uint64_t number = 0;
      for (int byte = 7; byte >= 0; byte--) number = (number << 8) | row[at + byte];
      at += 8;
      if (!json_object_is_type(value, json_type_int) || (uint64_t)json_object_get_int64(value) != number) fail("Int64 differs", line, length);
    } else {
      size_t string_length = 0;
      for (int shift = 0;; shift += 7) {
        if (at >= row_length || shift > 35) fail("bad varint", line, length);
        uint8_t byte = row[at++];
        string_length |= (size_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) break;
      }
      if (at + string_length > row_length || !json_object_is_type(value, json_type_string) ||
          (size_t)json_object_get_string_len(value) != string_length || memcmp(json_object_get_string(value), row + at, string_length) != 0)
        fail("String differs", line, length);
      at += string_length;
    }
  }
  if (row_length - at != sizeof SUFFIX - 1 || memcmp(row + at, SUFFIX, sizeof SUFFIX - 1) != 0) fail("suffix missing", line, length);
  json_object_put(event);
}

/* The RowBinary writer over the whole input, into a buffer too small for all of it, resumed as the store does. */
static void check_rows(const uint8_t *data, size_t size, double *results) {
  size_t out_size = size / 2 + 64;
  uint8_t *out = malloc(out_size);
  size_t out_at = 0;
  for (size_t start = 0; start < size;) {
    size_t rows = event_rows_scan(data, start, size, row_layout, row_columns, (const uint8_t *)SUFFIX, sizeof SUFFIX - 1, out, out_at,
                                  out_size, results, CAPACITY);
    if (rows == 0) break; /* no room for the next row, or only empty lines left */
    for (size_t i = 0; i < rows; i++) {
      const double *row = results + i * RESULT_STRIDE;
      size_t line_start = (size_t)row[1], line_end = (size_t)row[2];
      if (row[0] != 1) continue;
      size_t row_end = (size_t)row[4];
      if (row_end <= out_at || row_end > out_size) fail("row outside the output", data + line_start, line_end - line_start);
      check_row(data + line_start, line_end - line_start, out + out_at, row_end - out_at);
      out_at = row_end;
    }
    start = (size_t)results[(rows - 1) * RESULT_STRIDE + 2] + 1;
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
  /* Exactly `size` bytes on the heap: AddressSanitizer catches any read past the datagram. */
  uint8_t *data = malloc(size ? size : 1);
  memcpy(data, input, size);
  double *results = malloc(sizeof(double) * RESULT_STRIDE * CAPACITY);
  size_t lines = event_scan_lines(data, 0, size, results, CAPACITY);
  size_t previous_end = 0;
  for (size_t i = 0; i < lines; i++) {
    const double *row = results + i * RESULT_STRIDE;
    size_t start = (size_t)row[1], end = (size_t)row[2];
    if (start < previous_end || end > size || start >= end || memchr(data + start, '\n', end - start)) fail("line bounds", data, size);
    previous_end = end;
    if (row[0] == 1) check_accepted(data, row);
    else if (row[0] != 0) fail("status is neither 0 nor 1", data + start, end - start);
  }
  check_rows(data, size, results);
  free(results);
  free(data);
  return 0;
}
