import { STORED_FIELDS, type PlaybackEvent } from "../protocol/event";
import { LineScanner } from "../protocol/native-decode";

/** A batch of lines as a store's bulk reader takes them, with its client-time range. */
export interface EncodedLines {
  readonly text: Buffer;
  readonly lines: number;
  readonly minT: number;
  readonly maxT: number;
}

export interface LineEncoding {
  /** The line for an event parsed by JSON.parse, without a newline. */
  reencode(event: PlaybackEvent): string;
}

const NEWLINE = 0x0a;

/** An event's known fields (absent ones null), in declared order: what every store reads. */
export function storedFieldsOf(event: PlaybackEvent): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const field of STORED_FIELDS) row[field.name] = (event as unknown as Record<string, unknown>)[field.name] ?? null;
  return row;
}

/**
 * Spooled wire lines as DuckDB's JSON reader (json_transform) must see them to read what
 * JSON.parse read when the line was accepted. The receiving thread spooled each line as its
 * bytes. A line the native scanner calls plain (ASCII strings without escapes, integers without
 * fraction or exponent, no repeated known field) reads the same to that reader, so it is kept as
 * it is; any other line is parsed again and written back by `reencode`. Without this a repeated
 * key stored its first value (JSON.parse keeps the last). The ClickHouse store writes RowBinary
 * instead (row-binary.ts), with the same split between plain lines and JSON.parse.
 */
export class LineEncoder {
  private scanner?: LineScanner;

  /** Throws if a line that is not plain does not parse: a spooled line passed its checksum, so that is a bug. */
  encode(text: Buffer, count: number, encoding: LineEncoding): EncodedLines {
    let out: Buffer | undefined;
    let length = 0;
    let minT = Infinity;
    let maxT = -Infinity;
    let copiedUpTo = 0;
    const ensure = (more: number) => {
      out ??= Buffer.allocUnsafe(text.length + 1024);
      if (length + more <= out.length) return;
      const grown = Buffer.allocUnsafe(Math.max(length + more, out.length * 2));
      out.copy(grown, 0, 0, length);
      out = grown;
    };
    const append = (source: Buffer, start: number, end: number) => {
      ensure(end - start + 1);
      length += source.copy(out!, length, start, end);
    };
    this.scanner ??= new LineScanner();
    const lines = this.scanner.scan(text, 0, text.length, (plain, start, end, t) => {
      if (!plain) {
        let event: PlaybackEvent;
        try {
          event = JSON.parse(text.toString("utf8", start, end)) as PlaybackEvent;
        } catch {
          throw new Error(`spooled line at byte ${start} does not parse; refusing to store a partial batch`);
        }
        t = event.t;
        // Lines copied as they are so far, then this one written back.
        append(text, copiedUpTo, start);
        const line = Buffer.from(`${encoding.reencode(event)}\n`, "utf8");
        append(line, 0, line.length);
        copiedUpTo = end + 1;
      }
      if (t < minT) minT = t;
      if (t > maxT) maxT = t;
    });
    if (lines !== count) throw new Error(`spooled batch holds ${lines} lines, not ${count}`);
    // Every line plain: the spooled text is the batch.
    if (!out) return { text, lines, minT, maxT };
    if (copiedUpTo < text.length) append(text, copiedUpTo, text.length);
    // A written-back last line ends in a newline its original did not have.
    else if (text[text.length - 1] !== NEWLINE) length--;
    return { text: out.subarray(0, length), lines, minT, maxT };
  }
}
