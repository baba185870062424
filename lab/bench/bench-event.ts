const REGIONS = ["eu-west", "us-east", "apac", "latam"];

/**
 * The bench's event mix, event `n` of it. Like real traffic, most events are heartbeats of
 * ongoing playbacks; one in twelve starts a new playback that has just crossed the stream
 * threshold. `unique` is what stands where a value must differ per event (the event id and the
 * new playback's id): the sender's counter placeholder, or a literal.
 */
export function benchEvent(n: number, t: number, unique: string): Record<string, string | number> {
  const starts = n % 12 === 0;
  return {
    v: 1,
    id: unique,
    type: "heartbeat",
    sid: `bench-session-${n % 50}`,
    uid: `bench-user-${n % 40}`,
    t,
    seq: 1 + n,
    region: REGIONS[n % REGIONS.length],
    device: n % 2 ? "ios" : "android",
    pid: starts ? unique : `bench-play-${n % 500}`,
    track: `track-${n % 97}`,
    artist: `artist-${n % 31}`,
    pos: starts ? 30000 : 15000,
    listened: starts ? 30000 : 15000,
    source: "playlist",
  };
}
