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

/** The type that must carry `stall`, and the one that must carry `code`. */
export const STALL_REQUIRED_ON: EventType = "buffer_end";
export const CODE_REQUIRED_ON: EventType = "error";

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

export const LIMITS = { idLength: 128, labelLength: 64, nameLength: 256, codeLength: 64 } as const;
