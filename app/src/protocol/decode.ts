import {
  EVENT_TYPES,
  LIMITS,
  PLAYBACK_TYPES,
  PROTOCOL_VERSION,
  SOURCES,
  type EventType,
  type PlaybackEvent,
  type RejectReason,
} from "./event";

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);
const NEWLINE = 0x0a;

/** The result of validating one decoded JSON value. */
export type Validation = { ok: true; event: PlaybackEvent } | { ok: false; reason: RejectReason; detail: string };

type Json = Record<string, unknown>;

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

const fail = (reason: RejectReason, detail: string): Validation => ({ ok: false, reason, detail });

/**
 * Checks one parsed event against protocol v1 and copies the known fields into a fresh object
 * (unknown fields are ignored and never stored). Never throws.
 */
export function validateEvent(value: unknown): Validation {
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
  const event: PlaybackEvent = {
    v: 1,
    id: raw.id,
    type,
    sid: raw.sid,
    uid: raw.uid,
    t: raw.t,
    seq: raw.seq,
    region: raw.region,
    device: raw.device,
  };
  if (raw.app !== undefined) {
    if (!isText(raw.app, LIMITS.labelLength)) return fail("schema", "app must be a non-empty string");
    event.app = raw.app;
  }
  if (raw.bitrate !== undefined) {
    if (!isCount(raw.bitrate)) return fail("schema", "bitrate must be a non-negative integer");
    event.bitrate = raw.bitrate;
  }
  // Known fields are checked whenever present; which ones are required depends on the type.
  const playback = PLAYBACK_TYPES.has(type);
  const missing = (field: string) => fail("schema", `${field} is required on ${type}`);
  const wrong = (field: string, expected: string) => fail("schema", `${field} must be ${expected}`);
  if (raw.pid !== undefined) {
    if (!isText(raw.pid, LIMITS.idLength)) return wrong("pid", "a non-empty string");
    event.pid = raw.pid;
  } else if (playback) return missing("pid");
  if (raw.track !== undefined) {
    if (!isText(raw.track, LIMITS.nameLength)) return wrong("track", "a non-empty string");
    event.track = raw.track;
  } else if (playback) return missing("track");
  if (raw.artist !== undefined) {
    if (!isText(raw.artist, LIMITS.nameLength)) return wrong("artist", "a non-empty string");
    event.artist = raw.artist;
  } else if (playback) return missing("artist");
  if (raw.pos !== undefined) {
    if (!isCount(raw.pos)) return wrong("pos", "a non-negative integer (ms)");
    event.pos = raw.pos;
  } else if (playback) return missing("pos");
  if (raw.listened !== undefined) {
    if (!isCount(raw.listened)) return wrong("listened", "a non-negative integer (ms)");
    event.listened = raw.listened;
  } else if (playback) return missing("listened");
  if (raw.source !== undefined) {
    if (typeof raw.source !== "string" || !SOURCE_SET.has(raw.source)) return wrong("source", `one of ${SOURCES.join(", ")}`);
    event.source = raw.source as PlaybackEvent["source"];
  } else if (playback) return missing("source");
  if (raw.stall !== undefined) {
    if (!isCount(raw.stall)) return wrong("stall", "a non-negative integer (ms)");
    event.stall = raw.stall;
  } else if (type === "buffer_end") return missing("stall");
  if (raw.code !== undefined) {
    if (!isText(raw.code, LIMITS.codeLength)) return wrong("code", "a non-empty string");
    event.code = raw.code;
  } else if (type === "error") return missing("code");
  return { ok: true, event };
}

/** Receives each line's outcome; the decoder allocates no result arrays. */
export interface DecodeSink {
  /** A valid event, with the exact line it came from (cheap to hand to another thread). */
  accept(event: PlaybackEvent, line: string): void;
  reject(reason: RejectReason, detail: string): void;
}

/**
 * Splits a datagram into newline-delimited JSON events and validates each; a bad line is
 * rejected on its own and the others are kept. Returns the number of non-empty lines.
 */
export function decodeDatagram(payload: Buffer, sink: DecodeSink): number {
  let lines = 0;
  let start = 0;
  const end = payload.length;
  while (start < end) {
    let stop = payload.indexOf(NEWLINE, start);
    if (stop === -1) stop = end;
    if (stop > start) {
      lines++;
      const line = payload.toString("utf8", start, stop);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        sink.reject("malformed", "not valid JSON");
        start = stop + 1;
        continue;
      }
      const result = validateEvent(parsed);
      if (result.ok) sink.accept(result.event, line);
      else sink.reject(result.reason, result.detail);
    }
    start = stop + 1;
  }
  return lines;
}
