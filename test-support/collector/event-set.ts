import { SOURCES, type PlaybackEvent } from "../../app/src/protocol/event";
import { seededRandom } from "./events";

export interface EventSet {
  /** Events in the order they are sent: with duplicates, reordering and late arrivals. */
  readonly sent: readonly PlaybackEvent[];
  /** What the collector should end up with: each id once, the first copy sent. */
  readonly delivered: readonly PlaybackEvent[];
  /** Events generated but never sent (they make seq gaps). */
  readonly lost: number;
  readonly start: number;
  readonly end: number;
}

const REGIONS = ["apac", "eu", "us"];
const DEVICES = ["android", "ios", "web"];
const TRACKS = Array.from({ length: 12 }, (_, index) => ({
  track: `track-${String(index).padStart(2, "0")}`,
  artist: `artist-${index % 5}`,
  duration: 90_000 + index * 20_000,
}));

/**
 * A fixed, seeded set of listening sessions crossing minute boundaries, with lost events (seq
 * gaps), duplicates, reordering and late arrivals. Times start `ageMs` before `now`.
 */
export function generateEventSet(
  seed: number,
  now: number,
  options: {
    sessions?: number;
    ageMs?: number;
    /** false: send every event once, in order, and leave the faults to the network. @default true */
    clientFaults?: boolean;
  } = {},
): EventSet {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  // Zipf-like popularity: track i is chosen with weight 1 / (i + 1).
  const weights = TRACKS.map((_, index) => 1 / (index + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const pickTrack = () => {
    let roll = random() * total;
    for (let index = 0; index < TRACKS.length; index++) {
      roll -= weights[index];
      if (roll <= 0) return TRACKS[index];
    }
    return TRACKS[TRACKS.length - 1];
  };

  const start = now - (options.ageMs ?? 8 * 60_000);
  const generated: PlaybackEvent[] = [];
  let counter = 0;
  for (let s = 0; s < (options.sessions ?? 40); s++) {
    const sid = `sess-${seed}-${s}`;
    const base = { v: 1 as const, sid, uid: `user-${s % 25}`, region: pick(REGIONS), device: pick(DEVICES), app: "4.2.0" };
    let seq = 0;
    let t = start + Math.floor(random() * 150_000) + 37;
    // Every eighth session hands its playback to another device once it has become a stream, so
    // a stream's device (that of its first qualifying event) differs from its later events'.
    let handedOff = s % 8 !== 5;
    const emit = (fields: Partial<PlaybackEvent> & Pick<PlaybackEvent, "type">) => {
      generated.push({ ...base, id: `e-${seed}-${counter++}`, seq: ++seq, t, ...fields });
      if (!handedOff && (fields.listened ?? 0) >= 30_000) {
        base.device = DEVICES[(DEVICES.indexOf(base.device) + 1) % DEVICES.length];
        handedOff = true;
      }
    };
    emit({ type: "session_start" });
    const plays = 1 + Math.floor(random() * 4);
    let endedEarly = false;
    for (let p = 0; p < plays && !endedEarly; p++) {
      const { track, artist, duration } = pickTrack();
      const pid = `play-${sid}-${p}`;
      const source = pick(SOURCES);
      let listened = 0;
      let pos = 0;
      t += 500 + Math.floor(random() * 3000);
      const playback = () => ({ pid, track, artist, source, listened, pos, bitrate: 320 });
      emit({ type: "play", ...playback() });
      const stopAt = random() < 0.3 ? Math.floor(random() * 40_000) : duration;
      while (listened < stopAt) {
        const step = Math.min(15_000, stopAt - listened);
        t += step;
        listened += step;
        pos += step;
        if (random() < 0.15) {
          emit({ type: "buffer_start", ...playback() });
          const stall = 200 + Math.floor(random() * 2500);
          t += stall;
          emit({ type: "buffer_end", ...playback(), stall });
        }
        if (random() < 0.05) {
          pos += 20_000;
          emit({ type: "seek", ...playback() });
        }
        if (random() < 0.05) {
          emit({ type: "pause", ...playback() });
          t += 4000;
          emit({ type: "resume", ...playback() });
        }
        emit({ type: "heartbeat", ...playback() });
      }
      if (stopAt < duration) emit({ type: "skip", ...playback() });
      else emit({ type: "complete", ...playback() });
      if (random() < 0.1) endedEarly = true;
    }
    if (random() < 0.75) {
      t += 1000;
      emit({ type: "session_end" });
    }
  }

  const times = generated.map((event) => event.t);
  const span = { start: Math.min(...times), end: Math.max(...times) + 1 };
  if (options.clientFaults === false) return { sent: generated, delivered: generated, lost: 0, ...span };

  // Loss: about 3 % never leave the client.
  const kept = generated.filter(() => random() >= 0.03);
  const lost = generated.length - kept.length;
  // Reordering inside chunks of 8, then a handful of late arrivals moved to the very end.
  const reordered: PlaybackEvent[] = [];
  for (let index = 0; index < kept.length; index += 8) {
    const chunk = kept.slice(index, index + 8);
    for (let i = chunk.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [chunk[i], chunk[j]] = [chunk[j], chunk[i]];
    }
    reordered.push(...chunk);
  }
  const late = new Set<number>();
  while (late.size < 12) late.add(Math.floor(random() * reordered.length));
  const onTime = reordered.filter((_, index) => !late.has(index));
  const sent = [...onTime, ...[...late].map((index) => reordered[index])];
  // Duplicates: about 5 % sent again later, as retransmits are.
  const withDuplicates = [...sent];
  for (const event of sent) if (random() < 0.05) withDuplicates.splice(Math.floor(random() * withDuplicates.length) + 1, 0, event);

  const seen = new Set<string>();
  const delivered = withDuplicates.filter((event) => (seen.has(event.id) ? false : (seen.add(event.id), true)));
  return { sent: withDuplicates, delivered, lost, ...span };
}
