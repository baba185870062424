import { EVENT_FIELDS, STORED_FIELDS, type EventField, type PlaybackEvent } from "../protocol/event";
import { configureEventScan } from "../protocol/native-decode";
import { loadAddon, type CollectorAddon } from "../native-addon";
import type { EncodedLines } from "./line-encoder";

/** A column as ClickHouse's RowBinary format writes it: a String or an Int64, maybe Nullable. */
export interface RowColumn {
  readonly name: string;
  readonly type: "String" | "Int64";
  readonly nullable: boolean;
}

/** A stored field's column: counts are Int64, the rest String; fields not always present are Nullable. */
export const columnOf = (field: EventField): RowColumn => ({
  name: field.name,
  type: field.kind === "count" ? "Int64" : "String",
  nullable: field.required !== "always",
});

export const EVENT_ROW_COLUMNS: readonly RowColumn[] = STORED_FIELDS.map(columnOf);

/** The native writer's layout byte per column (app/native/event_scan_core.h; native_block_core.h takes the type bits). */
const FIELD_BITS = 0x1f;
export const INT64_BIT = 0x40;
export const NULLABLE_BIT = 0x80;

function layoutOf(columns: readonly RowColumn[]): Buffer {
  return Buffer.from(
    columns.map((column) => {
      const declared = EVENT_FIELDS.findIndex((field) => field.name === column.name);
      if (declared < 0 || declared > FIELD_BITS) throw new Error(`RowBinary: "${column.name}" is not a protocol field`);
      return declared | (column.type === "Int64" ? INT64_BIT : 0) | (column.nullable ? NULLABLE_BIT : 0);
    }),
  );
}

/** A growing buffer of RowBinary values. */
export class RowWriter {
  private buffer: Buffer;
  length = 0;

  constructor(capacity = 4096) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** At least `more` bytes of room past `length`; the bytes written so far are kept. */
  reserve(more: number): Buffer {
    if (this.length + more > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.length + more, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }

  /** Drops what was written; the memory is kept for the next batch. */
  reset(): void {
    this.length = 0;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** One value of `column`, from what JSON.parse made of a validated line (absent: null). */
  value(column: RowColumn, value: unknown): void {
    if (value === undefined || value === null) {
      if (!column.nullable) throw new Error(`RowBinary: column ${column.name} is not Nullable, but the value is missing`);
      this.reserve(1)[this.length++] = 1;
      return;
    }
    if (column.nullable) this.reserve(1)[this.length++] = 0;
    if (column.type === "Int64") {
      if (typeof value !== "number" || !Number.isSafeInteger(value))
        throw new Error(`RowBinary: column ${column.name} takes an integer, not ${JSON.stringify(value)}`);
      this.length = this.reserve(8).writeBigInt64LE(BigInt(value), this.length);
      return;
    }
    if (typeof value !== "string") throw new Error(`RowBinary: column ${column.name} takes a string, not ${JSON.stringify(value)}`);
    const bytes = Buffer.byteLength(value, "utf8");
    const buffer = this.reserve(5 + bytes);
    // The length as unsigned LEB128.
    for (let rest = bytes; ; ) {
      const low = rest & 0x7f;
      rest = Math.floor(rest / 128);
      buffer[this.length++] = rest ? low | 0x80 : low;
      if (!rest) break;
    }
    this.length += buffer.write(value, this.length, "utf8");
  }

  row(columns: readonly RowColumn[], values: Readonly<Record<string, unknown>>): void {
    for (const column of columns) this.value(column, values[column.name]);
  }

  /** Bytes already in RowBinary (a batch's own columns). */
  append(bytes: Buffer): void {
    this.length += bytes.copy(this.reserve(bytes.length), this.length);
  }
}

/** Row layout of the native scan's results (app/native/event_scan.c's eventScanRows). */
const STRIDE = 8;
const ROWS = 256;
const [STATUS, LINE_START, LINE_END, T, OUT_END] = [0, 1, 2, 3, 4];

/** The stored columns' layout, as the native writer (and its fuzz target) takes it. */
export const EVENT_ROW_LAYOUT: Buffer = layoutOf(EVENT_ROW_COLUMNS);

/**
 * Spooled wire lines as ClickHouse RowBinary rows: the event's columns (EVENT_ROW_COLUMNS), then
 * `suffix`, the batch's own columns already in RowBinary. A line the native scanner validates
 * (the plain form clients write) is written in C from its bytes; any other line is parsed by
 * JSON.parse, as it was when accepted, and written here. Unknown fields are never read, so a
 * line naming one of the batch's columns cannot set it.
 *
 * ClickHouse parses RowBinary for less than JSONEachRow (docs/adr/0014): no field names, no
 * number parsing, half the bytes. The rows keep the lines' order.
 *
 * The returned text is this encoder's own memory, valid until its next call.
 */
export class EventRowEncoder {
  private readonly addon: CollectorAddon;
  private readonly results = new Float64Array(STRIDE * ROWS);
  private readonly writer = new RowWriter(1 << 20);

  constructor() {
    this.addon = loadAddon("the ClickHouse store");
    configureEventScan(this.addon);
  }

  encodeLines(text: Buffer, count: number, suffix: Buffer): EncodedLines {
    const writer = this.writer;
    writer.reset();
    // Each row is at most its line plus 9 bytes per column (native bound), plus the suffix.
    writer.reserve(text.length + count * (EVENT_ROW_COLUMNS.length * 9 + suffix.length));
    let minT = Infinity;
    let maxT = -Infinity;
    let lines = 0;
    for (let start = 0; start < text.length; ) {
      const out = writer.reserve(0);
      const scanned = this.addon.eventScanRows(text, start, text.length, EVENT_ROW_LAYOUT, suffix, out, writer.length, this.results);
      if (scanned === 0) {
        // No row fitted, or only empty lines are left (then any row would have fitted).
        const worstCase = text.length - start + EVENT_ROW_COLUMNS.length * 9 + suffix.length;
        if (out.length - writer.length >= worstCase) break;
        writer.reserve(worstCase);
        continue;
      }
      for (let row = 0; row < scanned * STRIDE; row += STRIDE) {
        let t = this.results[row + T];
        if (this.results[row + STATUS] === 1) writer.length = this.results[row + OUT_END];
        else t = this.writeParsed(text, this.results[row + LINE_START], this.results[row + LINE_END], suffix);
        if (t < minT) minT = t;
        if (t > maxT) maxT = t;
      }
      lines += scanned;
      start = this.results[(scanned - 1) * STRIDE + LINE_END] + 1;
    }
    if (lines !== count) throw new Error(`spooled batch holds ${lines} lines, not ${count}`);
    return { text: writer.bytes(), lines, minT, maxT };
  }

  /** Events already parsed (the store's writeBatch). */
  encodeEvents(events: readonly PlaybackEvent[], suffix: Buffer): EncodedLines {
    const writer = this.writer;
    writer.reset();
    let minT = Infinity;
    let maxT = -Infinity;
    for (const event of events) {
      writer.row(EVENT_ROW_COLUMNS, event as unknown as Record<string, unknown>);
      writer.append(suffix);
      if (event.t < minT) minT = event.t;
      if (event.t > maxT) maxT = event.t;
    }
    return { text: writer.bytes(), lines: events.length, minT, maxT };
  }

  /** A line the scanner left to JavaScript; returns its client time. */
  private writeParsed(text: Buffer, start: number, end: number, suffix: Buffer): number {
    let event: PlaybackEvent;
    try {
      event = JSON.parse(text.toString("utf8", start, end)) as PlaybackEvent;
    } catch {
      throw new Error(`spooled line at byte ${start} does not parse; refusing to store a partial batch`);
    }
    this.writer.row(EVENT_ROW_COLUMNS, event as unknown as Record<string, unknown>);
    this.writer.append(suffix);
    return event.t;
  }
}
