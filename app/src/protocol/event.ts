/** Wire protocol v1: see app/PROTOCOL.md and app/protocol.schema.json. */
export const PROTOCOL_VERSION = 1;

export const EVENT_TYPES = [
  "session_start",
  "play",
  "heartbeat",
  "pause",
  "resume",
  "seek",
  "skip",
  "complete",
  "buffer_start",
  "buffer_end",
  "error",
  "session_end",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const SOURCES = ["playlist", "album", "search", "radio", "artist", "other"] as const;
export type Source = (typeof SOURCES)[number];

/** Types that belong to one track playback and so carry pid, track, artist, pos, listened, source. */
export const PLAYBACK_TYPES: ReadonlySet<EventType> = new Set([
  "play",
  "heartbeat",
  "pause",
  "resume",
  "seek",
  "skip",
  "complete",
  "buffer_start",
  "buffer_end",
]);

export const LIMITS = { idLength: 128, labelLength: 64, nameLength: 256, codeLength: 64 } as const;

/**
 * How a field is typed: `version` is the constant PROTOCOL_VERSION; `text` a non-empty string of
 * at most maxLength UTF-16 units; `count` a non-negative safe integer (at least `min`);
 * `eventType` and `source` one of EVENT_TYPES and SOURCES.
 */
export type FieldKind = "version" | "text" | "count" | "eventType" | "source";

/** When a field must be present: on every event, on playback types, on one type, or never. */
export type Requirement = "always" | "playback" | "never" | EventType;

export interface EventField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly maxLength?: number;
  readonly min?: number;
  readonly required: Requirement;
  /** Few distinct values (a store may keep it as a dictionary-encoded label). */
  readonly label?: boolean;
}

/**
 * Every field of protocol v1, declared once, in the order clients write them. The decoder's
 * optional fields, the stores' columns and row mapping, and the native scanner's field order
 * are derived from this list; protocol.schema.json and PROTOCOL.md are checked against it.
 */
export const EVENT_FIELDS = [
  { name: "v", kind: "version", required: "always" },
  { name: "id", kind: "text", maxLength: LIMITS.idLength, required: "always" },
  { name: "type", kind: "eventType", required: "always", label: true },
  { name: "sid", kind: "text", maxLength: LIMITS.idLength, required: "always" },
  { name: "uid", kind: "text", maxLength: LIMITS.idLength, required: "always" },
  { name: "t", kind: "count", required: "always" },
  { name: "seq", kind: "count", min: 1, required: "always" },
  { name: "region", kind: "text", maxLength: LIMITS.labelLength, required: "always", label: true },
  { name: "device", kind: "text", maxLength: LIMITS.labelLength, required: "always", label: true },
  { name: "app", kind: "text", maxLength: LIMITS.labelLength, required: "never" },
  { name: "bitrate", kind: "count", required: "never" },
  { name: "pid", kind: "text", maxLength: LIMITS.idLength, required: "playback" },
  { name: "track", kind: "text", maxLength: LIMITS.nameLength, required: "playback" },
  { name: "artist", kind: "text", maxLength: LIMITS.nameLength, required: "playback" },
  { name: "pos", kind: "count", required: "playback" },
  { name: "listened", kind: "count", required: "playback" },
  { name: "source", kind: "source", required: "playback" },
  { name: "stall", kind: "count", required: "buffer_end" },
  { name: "code", kind: "text", maxLength: LIMITS.codeLength, required: "error" },
] as const satisfies ReadonlyArray<EventField>;

export type FieldName = (typeof EVENT_FIELDS)[number]["name"];

/** The fields a store keeps (all but the protocol version). */
export const STORED_FIELDS: ReadonlyArray<EventField> = EVENT_FIELDS.filter((field) => field.kind !== "version");

/** Fields that not every event carries. */
export const OPTIONAL_FIELDS: readonly FieldName[] = EVENT_FIELDS.filter((field) => field.required !== "always").map((field) => field.name);

function requiredOnType(name: FieldName): EventType {
  const required = EVENT_FIELDS.find((field) => field.name === name)!.required;
  if (!(EVENT_TYPES as readonly string[]).includes(required)) throw new Error(`${name} is not required on one event type`);
  return required as EventType;
}

/** The type that must carry `stall`, and the one that must carry `code`. */
export const STALL_REQUIRED_ON: EventType = requiredOnType("stall");
export const CODE_REQUIRED_ON: EventType = requiredOnType("code");

/** An accepted event; its keys are exactly the declared fields (checked below). */
export interface PlaybackEvent {
  v: 1;
  id: string;
  type: EventType;
  sid: string;
  uid: string;
  t: number;
  seq: number;
  region: string;
  device: string;
  app?: string;
  bitrate?: number;
  pid?: string;
  track?: string;
  artist?: string;
  pos?: number;
  listened?: number;
  source?: Source;
  stall?: number;
  code?: string;
}

/** Why an event or datagram was not accepted; every one is counted. */
export const REJECT_REASONS = [
  "malformed",
  "schema",
  "too_large",
  "version",
  "duplicate",
  "skew",
  "overload",
  "unsigned",
  "forged",
  "stale",
  "replayed",
  "rate_limited",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A stream counts after 30 s of listening (Spotify's rule). */
export const STREAM_THRESHOLD_MS = 30_000;

/** Clients should keep datagrams under a typical MTU. */
export const RECOMMENDED_DATAGRAM_BYTES = 1400;
export const DEFAULT_MAX_DATAGRAM_BYTES = 8192;
/** The largest UDP payload over IPv4. */
export const MAX_DATAGRAM_BYTES = 65_507;

// Compile-time: PlaybackEvent's keys and EVENT_FIELDS' names are the same set.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const fieldsMatchTheInterface: SameKeys<keyof PlaybackEvent, FieldName> = true;
void fieldsMatchTheInterface;
