import { RECOMMENDED_DATAGRAM_BYTES, type PlaybackEvent } from "../protocol/event";

/** One event as its wire line (JSON, no newline). */
export function encodeEvent(event: PlaybackEvent): string {
  return JSON.stringify(event);
}

/**
 * Packs events into newline-delimited datagrams of at most `maxBytes`, in order. An event
 * larger than `maxBytes` on its own still gets a datagram of its own; the collector decides.
 */
export function packEvents(events: readonly PlaybackEvent[], maxBytes = RECOMMENDED_DATAGRAM_BYTES): Buffer[] {
  const datagrams: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (const event of events) {
    const line = encodeEvent(event);
    const bytes = Buffer.byteLength(line, "utf8");
    const needed = lines.length === 0 ? bytes : size + 1 + bytes;
    if (lines.length > 0 && needed > maxBytes) {
      datagrams.push(Buffer.from(lines.join("\n"), "utf8"));
      lines = [];
      size = 0;
    }
    size = lines.length === 0 ? bytes : size + 1 + bytes;
    lines.push(line);
  }
  if (lines.length > 0) datagrams.push(Buffer.from(lines.join("\n"), "utf8"));
  return datagrams;
}
