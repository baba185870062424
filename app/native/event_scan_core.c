/*
 * The event scanner's pure part (see event_scan.c for what it decides and why); it reads only
 * the bytes it is given, so the fuzz target in app/native/fuzz exercises exactly this code.
 */
#include "event_scan_core.h"

#include <pthread.h>
#include <string.h>

#include "leb128.h"

/* Integers of up to 15 digits are below 2^53, so exact as a double and safe integers in JavaScript. */
#define MAX_INTEGER_DIGITS 15

static struct {
  int configured;
  double version;
  size_t id_length, label_length, name_length, code_length;
  name_set_t types;
  uint32_t playback_types; /* bit i: types.names[i] is a playback type */
  int stall_type, code_type;
  name_set_t sources;
} protocol;

enum field {
  F_V,
  F_ID,
  F_TYPE,
  F_SID,
  F_UID,
  F_T,
  F_SEQ,
  F_REGION,
  F_DEVICE,
  F_APP,
  F_BITRATE,
  F_PID,
  F_TRACK,
  F_ARTIST,
  F_POS,
  F_LISTENED,
  F_SOURCE,
  F_STALL,
  F_CODE,
  FIELD_COUNT,
  F_UNKNOWN = FIELD_COUNT
};

/* The field each rule below reads, by name; the search order comes from the protocol's declaration. */
static const char *const FIELD_NAMES[FIELD_COUNT] = {"v",     "id",      "type",  "sid",    "uid",    "t",      "seq",
                                                     "region", "device", "app",   "bitrate", "pid",   "track",  "artist",
                                                     "pos",   "listened", "source", "stall", "code"};

/* declared_order[i]: the field declared i-th (set by event_scan_set_protocol). */
static enum field declared_order[FIELD_COUNT];

enum kind { K_STRING = 1, K_INTEGER = 2 };

typedef struct {
  int kind;
  size_t start, length; /* a string's bytes, without quotes */
  double integer;
} value_t;

static int is_space(uint8_t byte) { return byte == ' ' || byte == '\t' || byte == '\r'; }

static size_t field_name_lengths[FIELD_COUNT];

/*
 * Searches the declared order from position `*next` on, wrapping around: clients write the fields
 * in this order, so the next key is usually the first tried; `*next` moves past a match.
 * Receiving thread at 150k events/s, 6 per datagram, 5 s: 171-175 ticks, against 183-193
 * searching from the start every time.
 */
static enum field field_of(const uint8_t *key, size_t length, int *next) {
  for (int tried = 0, at = *next; tried < FIELD_COUNT; tried++, at = at + 1 == FIELD_COUNT ? 0 : at + 1) {
    enum field field = declared_order[at];
    if (field_name_lengths[field] == length && memcmp(FIELD_NAMES[field], key, length) == 0) {
      *next = at + 1 == FIELD_COUNT ? 0 : at + 1;
      return field;
    }
  }
  return F_UNKNOWN;
}

static int index_in(const name_set_t *set, const uint8_t *text, size_t length) {
  for (unsigned i = 0; i < set->count; i++)
    if (set->names[i].length == length && memcmp(set->names[i].text, text, length) == 0) return (int)i;
  return -1;
}

/* A JSON string with printable ASCII and no escapes; p is after the opening quote. Returns the closing quote's index, or 0. */
static size_t plain_string_end(const uint8_t *line, size_t p, size_t end) {
  for (; p < end; p++) {
    uint8_t byte = line[p];
    if (byte == '"') return p;
    if (byte < 0x20 || byte >= 0x7f || byte == '\\') return 0;
  }
  return 0;
}

/* Fills value from line[p]; returns the index after it, or 0 when it is not in the plain form. */
static size_t scan_value(const uint8_t *line, size_t p, size_t end, value_t *value) {
  if (p >= end) return 0;
  if (line[p] == '"') {
    size_t close = plain_string_end(line, p + 1, end);
    if (!close) return 0;
    value->kind = K_STRING;
    value->start = p + 1;
    value->length = close - p - 1;
    return close + 1;
  }
  if (line[p] < '0' || line[p] > '9') return 0;
  size_t first = p;
  double integer = 0;
  for (; p < end && line[p] >= '0' && line[p] <= '9'; p++) integer = integer * 10 + (line[p] - '0');
  size_t digits = p - first;
  /* JSON forbids leading zeros; a fraction or exponent goes to JSON.parse. */
  if (digits > MAX_INTEGER_DIGITS || (digits > 1 && line[first] == '0')) return 0;
  if (p < end && (line[p] == '.' || line[p] == 'e' || line[p] == 'E')) return 0;
  value->kind = K_INTEGER;
  value->integer = integer;
  return p;
}

static int text_ok(const value_t *value, size_t max) { return value->kind == K_STRING && value->length > 0 && value->length <= max; }

/* checkEvent's rule for an optional field: absent is fine unless required; present must be well typed. */
static int optional_text_ok(const value_t *value, int required, size_t max) { return value->kind == 0 ? !required : text_ok(value, max); }
static int optional_integer_ok(const value_t *value, int required) { return value->kind == 0 ? !required : value->kind == K_INTEGER; }

/* app/src/pipeline/fingerprint-table.ts's fingerprintOf, over ASCII bytes (which are their UTF-16 code units). */
static uint32_t fmix32(uint32_t hash) {
  hash ^= hash >> 16;
  hash *= 0x85ebca6bu;
  hash ^= hash >> 13;
  hash *= 0xc2b2ae35u;
  hash ^= hash >> 16;
  return hash;
}

static void fingerprint(const uint8_t *text, size_t length, double *high, double *low) {
  uint32_t first = 0x811c9dc5u;
  uint32_t second = 0x9747b28cu ^ (uint32_t)length;
  for (size_t i = 0; i < length; i++) {
    first = (first ^ text[i]) * 0x01000193u;
    second = (second ^ text[i]) * 0x5bd1e995u;
    second ^= second >> 13;
  }
  int32_t h = (int32_t)fmix32(first);
  int32_t l = (int32_t)fmix32(second);
  if (h == 0 && l == 0) l = 1;
  *high = h;
  *low = l;
}

/* Decides one line [start, end); fills values and returns 1 when it is certainly a valid event. */
static int scan_values(const uint8_t *line, size_t start, size_t end, value_t values[FIELD_COUNT]) {
  memset(values, 0, sizeof(value_t) * FIELD_COUNT);
  int next_field = 0;
  size_t p = start;
  while (p < end && is_space(line[p])) p++;
  if (p >= end || line[p] != '{') return 0;
  p++;
  while (p < end && is_space(line[p])) p++;
  if (p >= end || line[p] == '}') return 0; /* {} lacks v: JavaScript says why */
  for (;;) {
    if (p >= end || line[p] != '"') return 0;
    size_t key_close = plain_string_end(line, p + 1, end);
    if (!key_close) return 0;
    enum field field = field_of(line + p + 1, key_close - p - 1, &next_field);
    p = key_close + 1;
    while (p < end && is_space(line[p])) p++;
    if (p >= end || line[p] != ':') return 0;
    p++;
    while (p < end && is_space(line[p])) p++;
    value_t value = {0};
    p = scan_value(line, p, end, &value);
    if (!p) return 0;
    if (field != F_UNKNOWN) {
      /* JSON.parse keeps the last of repeated keys; leave that rare case to it. */
      if (values[field].kind != 0) return 0;
      values[field] = value;
    }
    while (p < end && is_space(line[p])) p++;
    if (p >= end) return 0;
    if (line[p] == '}') break;
    if (line[p] != ',') return 0;
    p++;
    while (p < end && is_space(line[p])) p++;
  }
  for (p++; p < end; p++)
    if (!is_space(line[p])) return 0;

  /* checkEvent, in its order; any failure is JavaScript's to report. */
  if (values[F_V].kind != K_INTEGER || values[F_V].integer != protocol.version) return 0;
  if (!text_ok(&values[F_ID], protocol.id_length)) return 0;
  if (values[F_TYPE].kind != K_STRING) return 0;
  int type = index_in(&protocol.types, line + values[F_TYPE].start, values[F_TYPE].length);
  if (type < 0) return 0;
  if (!text_ok(&values[F_SID], protocol.id_length) || !text_ok(&values[F_UID], protocol.id_length)) return 0;
  if (values[F_T].kind != K_INTEGER) return 0;
  if (values[F_SEQ].kind != K_INTEGER || values[F_SEQ].integer < 1) return 0;
  if (!text_ok(&values[F_REGION], protocol.label_length) || !text_ok(&values[F_DEVICE], protocol.label_length)) return 0;
  if (!optional_text_ok(&values[F_APP], 0, protocol.label_length) || !optional_integer_ok(&values[F_BITRATE], 0)) return 0;
  int playback = (protocol.playback_types >> type) & 1;
  if (!optional_text_ok(&values[F_PID], playback, protocol.id_length) ||
      !optional_text_ok(&values[F_TRACK], playback, protocol.name_length) ||
      !optional_text_ok(&values[F_ARTIST], playback, protocol.name_length) || !optional_integer_ok(&values[F_POS], playback) ||
      !optional_integer_ok(&values[F_LISTENED], playback))
    return 0;
  const value_t *source = &values[F_SOURCE];
  if (source->kind == 0 ? playback : source->kind != K_STRING || index_in(&protocol.sources, line + source->start, source->length) < 0)
    return 0;
  if (!optional_integer_ok(&values[F_STALL], type == protocol.stall_type) ||
      !optional_text_ok(&values[F_CODE], type == protocol.code_type, protocol.code_length))
    return 0;
  return 1;
}

/* Decides one line [start, end); writes its row and returns 1 when it is certainly a valid event. */
static int scan_line(const uint8_t *line, size_t start, size_t end, double *row) {
  value_t values[FIELD_COUNT];
  if (!scan_values(line, start, end, values)) return 0;
  row[3] = values[F_T].integer;
  fingerprint(line + values[F_ID].start, values[F_ID].length, &row[4], &row[5]);
  row[6] = (double)values[F_SID].start;
  row[7] = (double)(values[F_SID].start + values[F_SID].length);
  return 1;
}


static const char *install_protocol(const scan_protocol_t *description) {
  protocol.configured = 0;
  protocol.version = description->version;
  protocol.id_length = description->id_length;
  protocol.label_length = description->label_length;
  protocol.name_length = description->name_length;
  protocol.code_length = description->code_length;
  protocol.types = description->types;
  protocol.sources = description->sources;
  protocol.playback_types = 0;
  for (unsigned i = 0; i < description->playback.count; i++) {
    int type = index_in(&protocol.types, (const uint8_t *)description->playback.names[i].text, description->playback.names[i].length);
    if (type < 0) return "a playback type is not an event type";
    protocol.playback_types |= 1u << type;
  }
  protocol.stall_type = index_in(&protocol.types, (const uint8_t *)description->stall.text, description->stall.length);
  protocol.code_type = index_in(&protocol.types, (const uint8_t *)description->code.text, description->code.length);
  if (protocol.stall_type < 0 || protocol.code_type < 0) return "stallRequiredOn and codeRequiredOn must be event types";
  for (int field = 0; field < FIELD_COUNT; field++) field_name_lengths[field] = strlen(FIELD_NAMES[field]);
  /* Each declared field must be one this scanner has a rule for, each exactly once. */
  if (description->fields.count != FIELD_COUNT) return "the protocol declares a different number of fields than the scanner checks";
  unsigned seen = 0;
  for (unsigned at = 0; at < FIELD_COUNT; at++) {
    const name_t *name = &description->fields.names[at];
    int found = -1;
    for (int field = 0; field < FIELD_COUNT; field++)
      if (field_name_lengths[field] == name->length && memcmp(FIELD_NAMES[field], name->text, name->length) == 0) found = field;
    if (found < 0) return "the protocol declares a field the scanner has no rule for";
    if (seen & (1u << found)) return "the protocol declares a field twice";
    seen |= 1u << found;
    declared_order[at] = (enum field)found;
  }
  protocol.configured = 1;
  return NULL;
}

static pthread_mutex_t configuring = PTHREAD_MUTEX_INITIALIZER;
static scan_protocol_t installed;

/*
 * The receiving thread and the store thread each configure the scanner, with the same facts. A
 * call that would install what is installed changes nothing, so a scan running on the other
 * thread never reads a protocol being rewritten; the lock orders two first calls.
 */
const char *event_scan_set_protocol(const scan_protocol_t *description) {
  pthread_mutex_lock(&configuring);
  const char *problem = NULL;
  if (!protocol.configured || memcmp(&installed, description, sizeof installed) != 0) {
    problem = install_protocol(description);
    if (!problem) installed = *description;
  }
  pthread_mutex_unlock(&configuring);
  return problem;
}

int event_scan_configured(void) { return protocol.configured; }

size_t event_scan_lines(const uint8_t *buffer, size_t start, size_t end, double *results, size_t capacity) {
  size_t lines = 0;
  for (size_t line_start = start; line_start < end && lines < capacity;) {
    const uint8_t *newline = memchr(buffer + line_start, '\n', end - line_start);
    size_t line_end = newline ? (size_t)(newline - buffer) : end;
    if (line_end > line_start) {
      double *row = results + lines * RESULT_STRIDE;
      row[1] = (double)line_start;
      row[2] = (double)line_end;
      row[0] = scan_line(buffer, line_start, line_end, row);
      lines++;
    }
    line_start = line_end + 1;
  }
  return lines;
}

/* Writes one validated line's row; returns the bytes written, or 0 when a value does not fit its column's type. */
static size_t put_row(const uint8_t *line, const value_t values[FIELD_COUNT], const uint8_t *layout, size_t columns, uint8_t *out) {
  size_t at = 0;
  for (size_t column = 0; column < columns; column++) {
    const value_t *value = &values[declared_order[layout[column] & ROW_COLUMN_FIELD]];
    int nullable = (layout[column] & ROW_COLUMN_NULLABLE) != 0;
    int integer = (layout[column] & ROW_COLUMN_INT64) != 0;
    if (value->kind == 0) {
      if (!nullable) return 0;
      out[at++] = 1;
      continue;
    }
    if (value->kind != (integer ? K_INTEGER : K_STRING)) return 0;
    if (nullable) out[at++] = 0;
    if (integer) {
      /* At most 15 digits, so exact, non-negative and below 2^53. */
      uint64_t number = (uint64_t)value->integer;
      for (int byte = 0; byte < 8; byte++) out[at++] = (uint8_t)(number >> (8 * byte));
    } else {
      at += leb128_put(out + at, value->length);
      memcpy(out + at, line + value->start, value->length);
      at += value->length;
    }
  }
  return at;
}

int event_rows_layout_ok(const uint8_t *layout, size_t columns) {
  if (columns == 0 || columns > FIELD_COUNT) return 0;
  uint32_t seen = 0;
  for (size_t column = 0; column < columns; column++) {
    unsigned field = layout[column] & ROW_COLUMN_FIELD;
    if (field >= FIELD_COUNT || (layout[column] & ~(ROW_COLUMN_FIELD | ROW_COLUMN_INT64 | ROW_COLUMN_NULLABLE)) != 0) return 0;
    /* A field written twice would break the output bound (each value's bytes counted once). */
    if (seen & (1u << field)) return 0;
    seen |= 1u << field;
  }
  return 1;
}

size_t event_rows_scan(const uint8_t *buffer, size_t start, size_t end, const uint8_t *layout, size_t columns, const uint8_t *suffix,
                       size_t suffix_length, uint8_t *out, size_t out_at, size_t out_capacity, double *results, size_t capacity) {
  size_t lines = 0;
  for (size_t line_start = start; line_start < end && lines < capacity;) {
    const uint8_t *newline = memchr(buffer + line_start, '\n', end - line_start);
    size_t line_end = newline ? (size_t)(newline - buffer) : end;
    if (line_end > line_start) {
      /* Each value is at most its bytes in the line plus ROW_COLUMN_OVERHEAD (an Int64's 8 bytes, a String's varint, a null flag). */
      if (out_capacity - out_at < (line_end - line_start) + columns * ROW_COLUMN_OVERHEAD + suffix_length) break;
      double *row = results + lines * RESULT_STRIDE;
      value_t values[FIELD_COUNT];
      row[1] = (double)line_start;
      row[2] = (double)line_end;
      size_t written = scan_values(buffer, line_start, line_end, values) ? put_row(buffer, values, layout, columns, out + out_at) : 0;
      lines++;
      if (!written) {
        /* JavaScript writes this line's row; the next call starts after it. */
        row[0] = 0;
        break;
      }
      memcpy(out + out_at + written, suffix, suffix_length);
      out_at += written + suffix_length;
      row[0] = 1;
      row[3] = values[F_T].integer;
      row[4] = (double)out_at;
    }
    line_start = line_end + 1;
  }
  return lines;
}
