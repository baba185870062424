/**
 * The insight definitions computed directly from an event list, written independently of the
 * collector's SQL: plain loops over the events the test sent. Expected values come from here.
 */
import type { PlaybackEvent } from "../../app/src/protocol/event";

export interface Window {
  from: number;
  to: number;
  region?: string;
  device?: string;
  source?: string;
}

const THRESHOLD = 30_000;

function matches(event: PlaybackEvent, w: Omit<Window, "from" | "to">): boolean {
  return (
    (w.region === undefined || event.region === w.region) &&
    (w.device === undefined || event.device === w.device) &&
    (w.source === undefined || event.source === w.source)
  );
}

const inside = (event: PlaybackEvent, w: Window) => event.t >= w.from && event.t < w.to && matches(event, w);

/** Each playback's stream: its earliest event with listened ≥ 30 s. */
function streamEvents(events: readonly PlaybackEvent[]): PlaybackEvent[] {
  const first = new Map<string, PlaybackEvent>();
  for (const event of events) {
    if (event.pid === undefined || (event.listened ?? 0) < THRESHOLD) continue;
    const current = first.get(event.pid);
    if (!current || event.t < current.t) first.set(event.pid, event);
  }
  return [...first.values()];
}

export function oracle(events: readonly PlaybackEvent[]) {
  const streams = streamEvents(events);
  const streamsIn = (w: Window) => streams.filter((event) => inside(event, w));

  function summary(w: Window) {
    const inWindow = streamsIn(w);
    const started = new Set(events.filter((e) => e.type === "play" && inside(e, w)).map((e) => e.pid!));
    let skipped = 0;
    let completed = 0;
    for (const pid of started) {
      if (events.some((e) => e.pid === pid && e.type === "skip" && (e.listened ?? 0) < THRESHOLD)) skipped++;
      if (events.some((e) => e.pid === pid && e.type === "complete")) completed++;
    }
    const bufferEnds = events.filter((e) => e.type === "buffer_end" && inside(e, w));
    const stallMs = bufferEnds.reduce((sum, e) => sum + (e.stall ?? 0), 0);
    const pids = new Set(events.filter((e) => e.pid !== undefined && inside(e, w)).map((e) => e.pid!));
    let listenedMs = 0;
    for (const pid of pids) {
      let insideMax = 0;
      let beforeMax = 0;
      for (const e of events) {
        if (e.pid !== pid) continue;
        if (e.t >= w.from && e.t < w.to) insideMax = Math.max(insideMax, e.listened ?? 0);
        if (e.t < w.from) beforeMax = Math.max(beforeMax, e.listened ?? 0);
      }
      listenedMs += Math.max(0, insideMax - beforeMax);
    }
    return {
      streams: inWindow.length,
      playsStarted: started.size,
      uniqueListeners: new Set(inWindow.map((e) => e.uid)).size,
      skipRate: started.size ? skipped / started.size : null,
      completionRate: started.size ? completed / started.size : null,
      stallMs,
      listenedMs,
      bufferingRatio: listenedMs ? stallMs / listenedMs : null,
      bufferEnds: bufferEnds.length,
      rebuffersPerHour: listenedMs ? bufferEnds.length / (listenedMs / 3_600_000) : null,
    };
  }

  function concurrentListeners(at: number, f: Omit<Window, "from" | "to"> = {}) {
    const ended = new Set(events.filter((e) => e.type === "session_end" && e.t <= at).map((e) => e.sid));
    return new Set(events.filter((e) => e.t > at - 60_000 && e.t <= at && matches(e, f) && !ended.has(e.sid)).map((e) => e.sid)).size;
  }

  function streamsPerMinute(w: Window) {
    const counts = new Map<number, number>();
    for (const e of streamsIn(w)) {
      const minute = Math.floor(e.t / 60_000) * 60_000;
      counts.set(minute, (counts.get(minute) ?? 0) + 1);
    }
    return [...counts].sort(([a], [b]) => a - b).map(([minute, count]) => ({ minute, count }));
  }

  const rank = (list: PlaybackEvent[], by: "track" | "artist") => {
    const counts = new Map<string, number>();
    for (const e of list) counts.set(e[by]!, (counts.get(e[by]!) ?? 0) + 1);
    return counts;
  };
  const order = (a: { name: string; n: number }, b: { name: string; n: number }) =>
    b.n - a.n || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

  function top(w: Window, by: "track" | "artist", limit: number) {
    return [...rank(streamsIn(w), by)]
      .map(([name, n]) => ({ name, n }))
      .sort(order)
      .slice(0, limit)
      .map(({ name, n }) => ({ name, streams: n }));
  }

  function trending(w: Window, by: "track" | "artist", limit: number) {
    const now = rank(streamsIn(w), by);
    const before = rank(streamsIn({ ...w, from: w.from - (w.to - w.from), to: w.from }), by);
    return [...now]
      .map(([name, n]) => ({ name, n: n - (before.get(name) ?? 0), streams: n, previous: before.get(name) ?? 0 }))
      .filter((row) => row.n > 0)
      .sort(order)
      .slice(0, limit)
      .map(({ name, streams, previous, n }) => ({ name, streams, previous, rise: n }));
  }

  function qualityByRegion(w: Window) {
    const active = new Set(events.filter((e) => inside(e, w)).map((e) => e.sid));
    const byRegion = new Map<string, { expected: number; received: number }>();
    for (const sid of active) {
      const own = events.filter((e) => e.sid === sid);
      const region = own[0].region;
      const row = byRegion.get(region) ?? { expected: 0, received: 0 };
      row.expected += Math.max(...own.map((e) => e.seq));
      row.received += new Set(own.map((e) => e.seq)).size;
      byRegion.set(region, row);
    }
    return [...byRegion]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([region, row]) => ({ region, ...row, lossPercent: row.expected ? ((row.expected - row.received) / row.expected) * 100 : 0 }));
  }

  function experienceByRegion(w: Window) {
    const regions = [...new Set(events.filter((e) => inside(e, w)).map((e) => e.region))].sort();
    return regions.map((region) => {
      const s = summary({ ...w, region });
      return { region, skipRate: s.skipRate, bufferingRatio: s.bufferingRatio };
    });
  }

  return { summary, concurrentListeners, streamsPerMinute, top, trending, qualityByRegion, experienceByRegion };
}
