import {
  CODE_REQUIRED_ON,
  EVENT_TYPES,
  LIMITS,
  OPTIONAL_FIELDS,
  PLAYBACK_TYPES,
  PROTOCOL_VERSION,
  SOURCES,
  STALL_REQUIRED_ON,
  type EventType,
  type PlaybackEvent,
  type RejectReason,
} from "./event";

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);
const NEWLINE = 0x0a;

/** The result of validating one decoded JSON value. */
export type Validation = { ok: true; event: PlaybackEvent } | Rejection;

type Json = Record<string, unknown>;

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export interface Rejection {
  readonly ok: false;
  readonly reason: RejectReason;
  readonly detail: string;
}

const fail = (reason: RejectReason, detail: string): Rejection => ({ ok: false, reason, detail });

/**
 * Checks one parsed value against protocol v1 without copying anything: the receiving thread
 * calls this for every event. Returns the rejection, or undefined when the event is valid.
 * Known fields are checked whenever present; which ones are required depends on the type.
 */
export function checkEvent(value: unknown): Rejection | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return fail("malformed", "not a JSON object");
  const raw = value as Json;
  if (raw.v === undefined) return fail("schema", "v is missing");
  if (raw.v !== PROTOCOL_VERSION) return fail("version", `v ${JSON.stringify(raw.v)} is not supported`);
  if (!isText(raw.id, LIMITS.idLength)) return fail("schema", "id must be a non-empty string");
  if (typeof raw.type !== "string" || !EVENT_TYPE_SET.has(raw.type)) return fail("schema", "type is not a known event type");
  if (!isText(raw.sid, LIMITS.idLength)) return fail("schema", "sid must be a non-empty string");
  if (!isText(raw.uid, LIMITS.idLength)) return fail("schema", "uid must be a non-empty string");
  if (!isCount(raw.t)) return fail("schema", "t must be a non-negative integer (ms)");
  if (!isCount(raw.seq) || raw.seq < 1) return fail("schema", "seq must be a positive integer");
  if (!isText(raw.region, LIMITS.labelLength)) return fail("schema", "region must be a non-empty string");
  if (!isText(raw.device, LIMITS.labelLength)) return fail("schema", "device must be a non-empty string");
  const type = raw.type as EventType;
  const playback = PLAYBACK_TYPES.has(type);
  if (raw.app !== undefined && !isText(raw.app, LIMITS.labelLength)) return wrong("app", "a non-empty string");
  if (raw.bitrate !== undefined && !isCount(raw.bitrate)) return wrong("bitrate", "a non-negative integer");
  // Field by field rather than in a loop over names: the receiving thread runs this for every
  // event, and named loads on objects of one shape are far cheaper than keyed ones.
  return (
    optionalText(raw.pid, "pid", LIMITS.idLength, playback, type) ??
    optionalText(raw.track, "track", LIMITS.nameLength, playback, type) ??
    optionalText(raw.artist, "artist", LIMITS.nameLength, playback, type) ??
    optionalCount(raw.pos, "pos", playback, type) ??
    optionalCount(raw.listened, "listened", playback, type) ??
    optionalSource(raw.source, playback, type) ??
    optionalCount(raw.stall, "stall", type === STALL_REQUIRED_ON, type) ??
    optionalText(raw.code, "code", LIMITS.codeLength, type === CODE_REQUIRED_ON, type)
  );
}

const missing = (field: string, type: EventType) => fail("schema", `${field} is required on ${type}`);
const wrong = (field: string, expected: string) => fail("schema", `${field} must be ${expected}`);

function optionalText(value: unknown, field: string, max: number, required: boolean, type: EventType): Rejection | undefined {
  if (value === undefined) return required ? missing(field, type) : undefined;
  return isText(value, max) ? undefined : wrong(field, "a non-empty string");
}

function optionalCount(value: unknown, field: string, required: boolean, type: EventType): Rejection | undefined {
  if (value === undefined) return required ? missing(field, type) : undefined;
  return isCount(value) ? undefined : wrong(field, "a non-negative integer (ms)");
}

function optionalSource(value: unknown, required: boolean, type: EventType): Rejection | undefined {
  if (value === undefined) return required ? missing("source", type) : undefined;
  return typeof value === "string" && SOURCE_SET.has(value) ? undefined : wrong("source", `one of ${SOURCES.join(", ")}`);
}

/**
 * Checks one parsed event and copies its known fields into a fresh object (unknown fields are
 * ignored and never stored). Never throws.
 */
export function validateEvent(value: unknown): Validation {
  const rejection = checkEvent(value);
  if (rejection) return rejection;
  const raw = value as Json;
  const event = {
    v: 1,
    id: raw.id,
    type: raw.type,
    sid: raw.sid,
    uid: raw.uid,
    t: raw.t,
    seq: raw.seq,
    region: raw.region,
    device: raw.device,
  } as PlaybackEvent;
  for (const field of OPTIONAL_FIELDS) {
    if (raw[field] !== undefined) (event as unknown as Json)[field] = raw[field];
  }
  return { ok: true, event };
}

/** Receives each line's outcome; the decoder allocates no result arrays. */
export interface DecodeSink {
  /**
   * A valid event, as parsed (known fields checked; unknown fields may still be present), with
   * where its line lies in the datagram's buffer: bytes [start, end), valid only during the call.
   */
  accept(event: PlaybackEvent, buffer: Buffer, start: number, end: number): void;
  reject(reason: RejectReason, detail: string): void;
}

/**
 * Splits a datagram (bytes [from, to) of `payload`) into newline-delimited JSON events and
 * validates each; a bad line is rejected on its own and the others are kept. Returns the
 * number of non-empty lines.
 */
export function decodeDatagram(payload: Buffer, sink: DecodeSink, from = 0, to = payload.length): number {
  let lines = 0;
  let start = from;
  const end = to;
  while (start < end) {
    let stop = payload.indexOf(NEWLINE, start);
    if (stop === -1 || stop > end) stop = end;
    if (stop > start) {
      lines++;
      decodeLine(payload, start, stop, sink);
    }
    start = stop + 1;
  }
  return lines;
}

/** Parses and validates one non-empty line, bytes [start, stop) of `payload`, and tells the sink. */
export function decodeLine(payload: Buffer, start: number, stop: number, sink: DecodeSink): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8", start, stop));
  } catch {
    sink.reject("malformed", "not valid JSON");
    return;
  }
  const rejection = checkEvent(parsed);
  if (rejection) sink.reject(rejection.reason, rejection.detail);
  else sink.accept(parsed as PlaybackEvent, payload, start, stop);
}
