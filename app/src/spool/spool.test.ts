import fc from "fast-check";
import { closeSync, openSync, readdirSync, readSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { temporarySpoolDir } from "../../../test-support/collector/collector-harness";
import { RECORD_HEADER_BYTES, SEGMENT_MAGIC, segmentFileName } from "./record-format";
import { SpoolReader, splitSpooledLines } from "./spool-reader";
import { SpoolFullError, SpoolWriter, type SpoolWriterOptions } from "./spool-writer";

const open = (dir: string, options: Partial<SpoolWriterOptions> = {}) =>
  SpoolWriter.open({ dir, maxBytes: 1 << 20, segmentBytes: 4096, fsyncIntervalMs: 0, ...options });

const linesOf = (record: number, count: number) =>
  Array.from({ length: count }, (_, n) => `{"id":"r${record}-${n}","pad":"${"x".repeat(40)}"}`);

/** Damages one byte of a file in place, as a bad disk would. */
function flipByte(path: string, offset: number): void {
  const fd = openSync(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] ^= 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** Everything from `from` to the writer's end, in small reads as the consumer does them. */
function readAll(dir: string, from: number, end: number): { lines: string[]; corrupt: string[] } {
  const reader = new SpoolReader(dir);
  const lines: string[] = [];
  const corrupt: string[] = [];
  let position = from;
  while (position < end) {
    const batch = reader.read(position, end, 7);
    const split = splitSpooledLines(batch.lines);
    // The reader counts lines without splitting them; the count must match.
    if (batch.lines.count !== split.length) throw new Error(`read counted ${batch.lines.count} lines, holds ${split.length}`);
    lines.push(...split);
    corrupt.push(...batch.corrupt.map((bad) => bad.reason));
    if (batch.to === position) throw new Error(`no progress at ${position}`);
    position = batch.to;
  }
  reader.close();
  return { lines, corrupt };
}

describe("spool segments", () => {
  it("reads back every record in order across segment files, and releases only stored segments", () => {
    const dir = temporarySpoolDir();
    const spool = open(dir, { segmentBytes: 1024 });
    const written: string[] = [];
    for (let record = 0; record < 40; record++) {
      written.push(...linesOf(record, 1 + (record % 5)));
      spool.append(linesOf(record, 1 + (record % 5)));
    }
    expect(spool.segmentCount).toBeGreaterThan(3);
    expect(readAll(dir, 0, spool.end)).toEqual({ lines: written, corrupt: [] });
    // Positions continue across files: each segment's name is where the previous one ended.
    const segments = readdirSync(dir).filter((name) => name.endsWith(".seg"));
    let expectedBase = 0;
    for (const name of segments.sort()) {
      expect(name).toBe(segmentFileName(expectedBase));
      expectedBase += statSync(join(dir, name)).size - SEGMENT_MAGIC.length;
    }
    expect(expectedBase).toBe(spool.end);

    // The reader deletes what is stored and publishes the oldest start; the writer reads it.
    const secondBase = Number(segments[1].slice(0, 20));
    const reader = new SpoolReader(dir, spool.ledger);
    reader.release(secondBase - 1);
    expect(spool.segmentCount).toBe(segments.length);
    reader.release(secondBase);
    expect(spool.segmentCount).toBe(segments.length - 1);
    expect(spool.ledger.oldestSegment).toBe(secondBase);
    expect(spool.diskBytes).toBe(spool.end - secondBase);
    // The open segment stays even when everything in it is stored.
    reader.release(spool.end);
    expect(spool.segmentCount).toBe(1);
    expect(spool.ledger.committed).toBe(spool.end);
    reader.close();
    spool.close();
  });

  it("reads every batch into the same memory: a batch's text holds until the next read", () => {
    const dir = temporarySpoolDir();
    const spool = open(dir, { segmentBytes: 1 << 16 });
    spool.append(linesOf(1, 5));
    const middle = spool.end;
    spool.append(linesOf(2, 5));
    const reader = new SpoolReader(dir);
    const first = reader.read(0, middle, 100);
    const firstText = first.lines.text.toString("utf8");
    expect(splitSpooledLines(first.lines)).toEqual(linesOf(1, 5));
    const second = reader.read(first.to, spool.end, 100);
    expect(splitSpooledLines(second.lines)).toEqual(linesOf(2, 5));
    // No fresh block per batch (docs/adr/0018): the first batch's bytes were written over.
    expect(second.lines.text.buffer).toBe(first.lines.text.buffer);
    expect(first.lines.text.toString("utf8")).not.toBe(firstText);
    reader.close();
    spool.close();
  });

  it("keeps its id and end position across a reopen", () => {
    const dir = temporarySpoolDir();
    const first = open(dir);
    first.append(linesOf(1, 3));
    const { spoolId, end } = first;
    first.close();
    const again = open(dir);
    expect(again.spoolId).toBe(spoolId);
    expect(again.end).toBe(end);
    expect(again.tornTail).toBeUndefined();
    again.close();
  });

  it("reads back exactly what was appended, for any records and segment size (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(
            fc.string({ minLength: 1, maxLength: 300 }).filter((line) => !line.includes("\n")),
            { minLength: 1, maxLength: 20 },
          ),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        fc.integer({ min: 1024, max: 16_384 }),
        (records, segmentBytes) => {
          const dir = temporarySpoolDir();
          const spool = open(dir, { segmentBytes, maxBytes: 4 << 20 });
          for (const lines of records) spool.append(lines);
          expect(readAll(dir, 0, spool.end).lines).toEqual(records.flat());
          spool.close();
        },
      ),
      { numRuns: 40, seed: 20261126 },
    );
  });
});

describe("spool recovery", () => {
  it("keeps every complete record of a torn segment, reports the torn one, and appends after it", () => {
    const dir = temporarySpoolDir();
    const spool = open(dir, { segmentBytes: 1 << 18 });
    for (let record = 0; record < 10; record++) spool.append(linesOf(record, 3));
    const lastRecordStart = spool.end;
    spool.append(linesOf(10, 3));
    spool.close();
    const file = join(dir, segmentFileName(0));
    const fullSize = statSync(file).size;
    // A crash in the middle of the last record's write: its header and part of the payload landed.
    const cut = SEGMENT_MAGIC.length + lastRecordStart + RECORD_HEADER_BYTES + 17;
    truncateSync(file, cut);

    const recovered = open(dir, { segmentBytes: 1 << 18 });
    expect(recovered.tornTail).toEqual({
      segment: segmentFileName(0),
      keptBytes: SEGMENT_MAGIC.length + lastRecordStart,
      droppedBytes: RECORD_HEADER_BYTES + 17,
      reason: "record cut short",
    });
    expect(fullSize).toBeGreaterThan(cut);
    expect(recovered.end).toBe(lastRecordStart);
    expect(readAll(dir, 0, recovered.end).lines).toEqual(Array.from({ length: 10 }, (_, record) => linesOf(record, 3)).flat());
    recovered.append(linesOf(11, 2));
    expect(readAll(dir, 0, recovered.end).lines.slice(-2)).toEqual(linesOf(11, 2));
    recovered.close();
  });

  it("cuts a record whose checksum fails at the end of the newest segment", () => {
    const dir = temporarySpoolDir();
    const spool = open(dir);
    spool.append(linesOf(0, 2));
    const start = spool.end;
    spool.append(linesOf(1, 2));
    spool.close();
    flipByte(join(dir, segmentFileName(0)), SEGMENT_MAGIC.length + start + RECORD_HEADER_BYTES + 3);
    const recovered = open(dir);
    expect(recovered.tornTail).toMatchObject({ reason: "checksum mismatch", keptBytes: SEGMENT_MAGIC.length + start });
    expect(readAll(dir, 0, recovered.end).lines).toEqual(linesOf(0, 2));
    recovered.close();
  });

  it("skips a corrupt record in a sealed segment, reports it, and reads on from the next segment", () => {
    const dir = temporarySpoolDir();
    const spool = open(dir, { segmentBytes: 1024 });
    const records = Array.from({ length: 30 }, (_, record) => linesOf(record, 2));
    const starts: number[] = [];
    for (const lines of records) {
      starts.push(spool.end);
      spool.append(lines);
    }
    expect(spool.segmentCount).toBeGreaterThan(2);
    // Damage the first record's payload: the rest of the first segment can no longer be trusted.
    const first = join(dir, segmentFileName(0));
    flipByte(first, SEGMENT_MAGIC.length + RECORD_HEADER_BYTES);
    const secondBase = Number(
      readdirSync(dir)
        .filter((name) => name.endsWith(".seg"))
        .sort()[1]
        .slice(0, 20),
    );
    const { lines, corrupt } = readAll(dir, 0, spool.end);
    expect(corrupt).toEqual(["checksum mismatch"]);
    const fromSecondSegment = records.filter((_, index) => starts[index] >= secondBase).flat();
    expect(lines).toEqual(fromSecondSegment);
    spool.close();
  });
});

describe("spool sync", () => {
  it("lets the consumer see a record only after it is synced", async () => {
    const spool = open(temporarySpoolDir(), { fsyncIntervalMs: 20 });
    spool.append(linesOf(0, 2));
    expect(spool.syncedEnd).toBe(0);
    const deadline = Date.now() + 5_000;
    while (spool.syncedEnd < spool.end && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(spool.syncedEnd).toBe(spool.end);
    spool.close();
  });

  it("continues past positions the store already holds, and reading from below them reports the gap", () => {
    const dir = temporarySpoolDir();
    const before = open(dir);
    before.append(linesOf(0, 2));
    const gapStart = before.end;
    before.close();
    // Reopened after a host crash that lost records the store has: decided once, at open.
    const spool = open(dir, { storedUpTo: gapStart + 500 });
    expect(spool.end).toBe(gapStart + 500);
    spool.append(linesOf(1, 2));
    expect(spool.end).toBeGreaterThan(gapStart + 500);
    const reader = new SpoolReader(dir);
    expect(splitSpooledLines(reader.read(gapStart + 500, spool.end, 100).lines)).toEqual(linesOf(1, 2));
    const fromStart = reader.read(0, spool.end, 100);
    expect(fromStart.corrupt).toEqual([{ position: gapStart, reason: "segment ends before the next one starts" }]);
    expect(splitSpooledLines(fromStart.lines)).toEqual([...linesOf(0, 2), ...linesOf(1, 2)]);
    expect(fromStart.to).toBe(spool.end);
    reader.close();
    spool.close();
  });
});

describe("spool bound", () => {
  it("refuses appends past maxBytes and takes them again once stored segments are released", () => {
    const dir = temporarySpoolDir();
    const spool = open(dir, { segmentBytes: 1024, maxBytes: 4096 });
    let appended = 0;
    for (;;) {
      try {
        spool.append(linesOf(appended, 1));
        appended++;
      } catch (error) {
        expect(error).toBeInstanceOf(SpoolFullError);
        expect((error as Error).message).toMatch(/^spool is full \(\d+ of 4096 bytes\)$/);
        break;
      }
    }
    expect(spool.diskBytes).toBeLessThanOrEqual(4096);
    expect(spool.hasRoomFor(100)).toBe(false);
    const reader = new SpoolReader(dir, spool.ledger);
    reader.release(spool.end);
    reader.close();
    expect(spool.hasRoomFor(100)).toBe(true);
    spool.append(linesOf(999, 1));
    spool.close();
  });

  it("rejects settings that could not hold two segments", () => {
    expect(() => open(temporarySpoolDir(), { segmentBytes: 4096, maxBytes: 5000 })).toThrow(
      "spool: maxBytes 5000 must be at least twice segmentBytes (4096)",
    );
  });
});
