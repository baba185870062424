import { validateEvent } from "../protocol/decode";
import type { PlaybackEvent } from "../protocol/event";
import type { Store } from "./store";

/**
 * Turns accepted wire lines back into events. They were validated at ingest, so this only
 * repeats that (dropping unknown fields the same way); a line that fails here is counted.
 */
export function eventsFromLines(lines: readonly string[]): { events: PlaybackEvent[]; invalid: number } {
  const events: PlaybackEvent[] = [];
  let invalid = 0;
  for (const line of lines) {
    try {
      const result = validateEvent(JSON.parse(line));
      if (result.ok) events.push(result.event);
      else invalid++;
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
