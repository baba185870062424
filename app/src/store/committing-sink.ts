import type { PlaybackEvent } from "../protocol/event";
import type { CommittingSink } from "../spool/spool-consumer";
import { splitSpooledLines, type SpooledLines } from "../spool/spool-reader";
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

/** The spool consumer's view of a store on this thread: spooled lines in, positions committed. */
export function committingSinkFor(store: Store): CommittingSink {
  return {
    prepare: async () => void (await store.migrate()),
    committedPosition: (spool) => store.committedPosition(spool),
    async write(lines, commit) {
      if (store.writeLines) return store.writeLines(lines, commit);
      const { events, invalid } = eventsFromLines(splitSpooledLines(lines));
      // A spooled line passed its checksum, so it is what was accepted; failing to parse means a bug.
      if (invalid > 0) throw new Error(`${invalid} spooled lines do not parse; refusing to store a partial batch`);
      await store.writeBatch(events, commit);
    },
  };
}

/** Lines as the spool would hand them over, for writing lines that did not come from a spool. */
export function spooledLinesOf(lines: readonly string[]): SpooledLines {
  return { text: Buffer.from(lines.join("\n"), "utf8"), count: lines.length };
}
