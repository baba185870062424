import type { Summary } from "./store";

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** Builds the summary from the rows of insightSql.streams, plays, stalls and listened. */
export function summaryFromParts(
  streams: Record<string, unknown>,
  plays: Record<string, unknown>,
  stalls: Record<string, unknown>,
  listened: Record<string, unknown>,
): Summary {
  const started = num(plays.started);
  const listenedMs = num(listened.listened);
  const stallMs = num(stalls.stall);
  const bufferEnds = num(stalls.buffer_ends);
  return {
    streams: num(streams.n),
    playsStarted: started,
    uniqueListeners: num(streams.listeners),
    skipRate: started ? num(plays.skipped) / started : null,
    completionRate: started ? num(plays.completed) / started : null,
    stallMs,
    listenedMs,
    bufferingRatio: listenedMs ? stallMs / listenedMs : null,
    bufferEnds,
    rebuffersPerHour: listenedMs ? bufferEnds / (listenedMs / 3_600_000) : null,
  };
}
