import type { PlaybackEvent } from "../../app/src/protocol/event";

/** A valid event of each shape, for table tests. */
export function sampleEvent(overrides: Partial<PlaybackEvent> = {}): PlaybackEvent {
  return {
    v: 1,
    id: "evt-1",
    type: "heartbeat",
    sid: "session-1",
    uid: "user-1",
    t: 1_700_000_000_000,
    seq: 3,
    region: "eu-west",
    device: "ios",
    app: "4.2.0",
    bitrate: 320,
    pid: "play-1",
    track: "track-1",
    artist: "artist-1",
    pos: 15_000,
    listened: 15_000,
    source: "playlist",
    ...overrides,
  };
}

export const sessionStart = (overrides: Partial<PlaybackEvent> = {}): PlaybackEvent => ({
  v: 1,
  id: "evt-start",
  type: "session_start",
  sid: "session-1",
  uid: "user-1",
  t: 1_700_000_000_000,
  seq: 1,
  region: "eu-west",
  device: "ios",
  ...overrides,
});

export { seededRandom } from "../../lib/seeded-random";
