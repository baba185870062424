import type { PlaybackEvent } from "../protocol/event";
import type { Store } from "./store";

/**
 * Turns accepted wire lines back into events. The receiving thread validated every line
 * (checkEvent) before accepting it, so this only parses; the result may carry unknown fields,
 * which stores ignore by reading known fields only. A line that no longer parses is counted.
 */
export function eventsFromLines(lines: readonly string[]): { events: PlaybackEvent[]; invalid: number } {
  const events: PlaybackEvent[] = [];
  let invalid = 0;
  for (const line of lines) {
    try {
      events.push(JSON.parse(line) as PlaybackEvent);
    } catch {
      invalid++;
    }
  }
  return { events, invalid };
}

/** Writes line batches into a store on this thread. */
export function lineSinkFor(store: Store): { writeBatch(lines: readonly string[]): Promise<void> } {
  return {
    async writeBatch(lines) {
      const { events, invalid } = eventsFromLines(lines);
      if (invalid > 0) throw new Error(`${invalid} accepted lines no longer validate; refusing to store a partial batch`);
      await store.writeBatch(events);
    },
  };
}
