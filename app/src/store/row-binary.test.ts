import { checkEvent } from "../protocol/decode";
import { sampleEvent, seededRandom, sessionStart } from "../../../test-support/collector/events";
import { loadAddon } from "../native-addon";
import { EventRowEncoder, EVENT_ROW_COLUMNS, EVENT_ROW_LAYOUT, RowWriter } from "./row-binary";

/**
 * The native writer against the JavaScript one: for every line, the C rows (written from the
 * line's bytes) must equal RowWriter's rows of JSON.parse's reading, byte for byte. That the
 * rows mean to ClickHouse what JSON.parse read is the wire-lines suite's, on 18.16 and 26.7.
 * The format: docs/interfaces/formats/RowBinary (ClickHouse): Int64 8 bytes little-endian,
 * String an unsigned LEB128 length and its bytes, Nullable a leading byte (1 is NULL).
 */
const suffix = Buffer.from([0x02, 0x7a, 0x7a]);

function expectedRows(lines: readonly string[]): Buffer {
  const writer = new RowWriter(16);
  for (const line of lines) {
    writer.row(EVENT_ROW_COLUMNS, JSON.parse(line) as Record<string, unknown>);
    writer.append(suffix);
  }
  return Buffer.from(writer.bytes());
}

describe("EventRowEncoder", () => {
  const encoder = new EventRowEncoder();

  it("writes RowBinary as the format defines it", () => {
    const writer = new RowWriter(1);
    writer.value({ name: "n", type: "Int64", nullable: false }, 1_700_000_000_001);
    writer.value({ name: "s", type: "String", nullable: true }, "é".repeat(100));
    writer.value({ name: "m", type: "String", nullable: true }, undefined);
    const bytes = writer.bytes();
    expect(bytes.subarray(0, 8).readBigInt64LE()).toBe(1_700_000_000_001n);
    // Not NULL, then 200 bytes as LEB128 (0xc8 0x01), then the UTF-8 bytes; then a NULL.
    expect([...bytes.subarray(8, 11)]).toEqual([0, 0xc8, 0x01]);
    expect(bytes.subarray(11, 211).toString("utf8")).toBe("é".repeat(100));
    expect([...bytes.subarray(211)]).toEqual([1]);
    expect(() => writer.value({ name: "t", type: "Int64", nullable: false }, undefined)).toThrow("column t is not Nullable");
    expect(() => writer.value({ name: "t", type: "Int64", nullable: false }, "5")).toThrow('column t takes an integer, not "5"');
  });

  it("writes in C, from the lines' bytes, exactly the rows JavaScript writes from JSON.parse", () => {
    const random = seededRandom(7);
    const lines: string[] = [];
    for (let n = 0; n < 1_500; n++) {
      const kind = n % 5;
      const event =
        kind === 0
          ? sessionStart({ id: `s-${n}`, t: 1_700_000_000_000 + Math.floor(random() * 1e9) })
          : sampleEvent({
              id: `e-${n}`,
              t: 1_700_000_000_000 + n,
              // Long names take a two-byte length; missing optional fields are NULL.
              track: kind === 1 ? "t".repeat(100 + (n % 150)) : `track-${n}`,
              app: kind === 2 ? undefined : "4.2.0",
              bitrate: kind === 3 ? undefined : n,
              ...(kind === 4 ? { type: "buffer_end" as const, stall: n * 7 } : {}),
            });
      expect(checkEvent(event)).toBeUndefined();
      lines.push(JSON.stringify(event));
    }
    const text = Buffer.from(lines.join("\n"));
    const encoded = encoder.encodeLines(text, lines.length, suffix);
    expect(encoded.lines).toBe(lines.length);
    expect(encoded.text.equals(expectedRows(lines))).toBe(true);
    const times = lines.map((line) => (JSON.parse(line) as { t: number }).t);
    expect([encoded.minT, encoded.maxT]).toEqual([Math.min(...times), Math.max(...times)]);
  });

  it("leaves lines the scanner does not call plain to JSON.parse, in their place", () => {
    const plain = (id: string) => JSON.stringify(sampleEvent({ id }));
    const lines = [
      plain("a"),
      // A repeated key: JSON.parse keeps the last value.
      plain("b").replace('{"v":1', '{"region":"first","v":1'),
      plain("c"),
      // Escapes and non-ASCII text, an exponent, a key naming one of the batch's columns.
      JSON.stringify(sampleEvent({ id: "d", track: 'Sigur Rós "Hoppípolla"' })),
      plain("e").replace('"t":1700000000000', '"t":1.7e12'),
      plain("f").replace('{"v":1', '{"batch":"forged","v":1'),
    ];
    // Spaces and a carriage return around lines, and empty lines, as a spool may hold them.
    const text = Buffer.from(`${lines.slice(0, 3).join("\n")}\n\n${lines[3]} \r\n${lines.slice(4).join("\n")}\n\n`);
    const encoded = encoder.encodeLines(text, lines.length, suffix);
    expect(encoded.text.equals(expectedRows(lines))).toBe(true);
  });

  it("grows past its buffer, and refuses a batch that is not what the spool said", () => {
    const lines = Array.from({ length: 12_000 }, (_, n) => JSON.stringify(sampleEvent({ id: `g-${n}`, track: "x".repeat(200) })));
    const encoded = encoder.encodeLines(Buffer.from(lines.join("\n")), lines.length, suffix);
    expect(encoded.text.length).toBeGreaterThan(1 << 20);
    expect(encoded.text.equals(expectedRows(lines))).toBe(true);
    expect(() => encoder.encodeLines(Buffer.from(lines[0]), 2, suffix)).toThrow("spooled batch holds 1 lines, not 2");
    expect(() => encoder.encodeLines(Buffer.from(`${lines[0]}\n{"v":1,`), 2, suffix)).toThrow(
      /spooled line at byte \d+ does not parse; refusing to store a partial batch/,
    );
  });

  it("refuses a layout that names a field twice, whose rows could outgrow the writer's bound", () => {
    const line = Buffer.from(JSON.stringify(sampleEvent({ id: "twice" })));
    const scan = (layout: Buffer) =>
      loadAddon("test").eventScanRows(line, 0, line.length, layout, suffix, Buffer.alloc(4096), 0, new Float64Array(8));
    expect(scan(EVENT_ROW_LAYOUT)).toBe(1);
    expect(() => scan(Buffer.from([EVENT_ROW_LAYOUT[2], EVENT_ROW_LAYOUT[2]]))).toThrow(
      "eventScanRows: layout must be a Buffer of known columns",
    );
  });

  it("writes parsed events (writeBatch) as it writes their lines", () => {
    const events = [sampleEvent({ id: "p" }), sessionStart({ id: "q" })];
    const fromEvents = Buffer.from(encoder.encodeEvents(events, suffix).text);
    expect(fromEvents.equals(expectedRows(events.map((event) => JSON.stringify(event))))).toBe(true);
  });
});
