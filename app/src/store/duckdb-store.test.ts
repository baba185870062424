import { describeSpoolCommits } from "../../../test-support/collector/spool-commit-suite";
import { describeStreamsAcrossBatches } from "../../../test-support/collector/stream-batches-suite";
import { expectWireLinesStoredAsParsed } from "../../../test-support/collector/wire-lines";
import { sampleEvent, seededRandom, sessionStart } from "../../../test-support/collector/events";
import type { DuckDBConnection } from "@duckdb/node-api";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queryDuckDb } from "../../../test-support/collector/durability";
import { DuckDbStore, linePieces, SpoolPositionMismatch, type DuckDbStoreOptions } from "./duckdb-store";
import { spooledLinesOf } from "./committing-sink";

let store: DuckDbStore;
describeSpoolCommits(
  "DuckDB",
  async () => (store = await DuckDbStore.open({ path: ":memory:" })),
  () => store.close(),
);

let handoff: DuckDbStore;
describeStreamsAcrossBatches(
  "DuckDB",
  async () => (handoff = await DuckDbStore.open({ path: ":memory:" })),
  () => handoff.close(),
);

describe("DuckDB wire lines", () => {
  it("stores them as JSON.parse reads them", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "duckdb-wire-")), "wire.duckdb");
    const own = await DuckDbStore.open({ path });
    await own.migrate();
    let closed = false;
    await expectWireLinesStoredAsParsed(own, async () => {
      await own.close();
      closed = true;
      return queryDuckDb(path, "SELECT * FROM events");
    }).finally(() => (closed ? undefined : own.close()));
  });
});

describe("DuckDB spool commits", () => {
  it("refuses a batch that overlaps what is stored, so a replay can never store part of a batch twice", async () => {
    const own = await DuckDbStore.open({ path: ":memory:" });
    try {
      await own.migrate();
      const t = Date.now();
      await own.writeBatch([sampleEvent({ id: "o-1", t })], { spool: "s", from: 0, to: 100 });
      await expect(own.writeBatch([sampleEvent({ id: "o-2", t })], { spool: "s", from: 50, to: 150 })).rejects.toThrow(
        SpoolPositionMismatch,
      );
      await expect(own.writeBatch([sampleEvent({ id: "o-2", t })], { spool: "s", from: 50, to: 150 })).rejects.toThrow(
        /spool batch \[50, 150\) overlaps what is stored \(up to 100\)/,
      );
      expect(await own.countEvents()).toBe(1);
      expect(await own.committedPosition("s")).toBe(100);
    } finally {
      await own.close();
    }
  });
});

describe("DuckDB parsing wire lines itself", () => {
  it("stores exactly what writeBatch stores for the same events: escapes, unicode, missing and unknown fields", async () => {
    const t = Date.now();
    const events = [
      sampleEvent({ id: "w-1", t }),
      sampleEvent({ id: "w-2", t: t + 1, type: "error", code: 'E "quoted" \\ back\\slash \n newline', track: "Sigur Rós — Hoppípolla 🎵" }),
      sampleEvent({ id: "w-3", t: t + 2, app: undefined, bitrate: undefined, listened: 31_000, stall: 1_234 }),
      { ...sampleEvent({ id: "w-4", t: t + 3 }), futureField: { nested: [1, 2] } },
      sessionStart({ id: "w-5", t: t + 4 }),
    ];
    const dir = mkdtempSync(join(tmpdir(), "duckdb-lines-"));
    const [objectsPath, linesPath, piecesPath] = [join(dir, "objects.duckdb"), join(dir, "lines.duckdb"), join(dir, "pieces.duckdb")];
    const viaObjects = await DuckDbStore.open({ path: objectsPath });
    // One piece for the whole batch, and pieces shorter than a line (each line its own piece).
    const viaLines = await DuckDbStore.open({ path: linesPath });
    const viaPieces = await DuckDbStore.open({ path: piecesPath, linePieceBytes: 100 });
    for (const store of [viaObjects, viaLines, viaPieces]) await store.migrate();
    await viaObjects.writeBatch(events);
    for (const store of [viaLines, viaPieces]) await store.writeLines(spooledLinesOf(events.map((event) => JSON.stringify(event))));
    for (const store of [viaObjects, viaLines, viaPieces]) await store.close();
    // Read back with DuckDB itself, not through the store.
    const snapshot = async (path: string) => ({
      rows: await queryDuckDb(path, "SELECT * EXCLUDE (received_at) FROM events ORDER BY id"),
      streams: await queryDuckDb(path, "SELECT * FROM streams ORDER BY pid"),
    });
    const expected = await snapshot(objectsPath);
    expect(expected.rows).toHaveLength(5);
    expect(expected.rows[1]).toMatchObject({ code: 'E "quoted" \\ back\\slash \n newline', track: "Sigur Rós — Hoppípolla 🎵" });
    expect(expected.rows[2]).toMatchObject({ app: null, bitrate: null, stall: 1234n });
    expect(expected.rows[4]).toMatchObject({ pid: null, track: null, source: null, listened: null });
    expect(expected.streams.length).toBeGreaterThan(0);
    // Kept for its old rows, written no more (docs/adr/0024).
    expect(await queryDuckDb(objectsPath, "SELECT count(*) AS n FROM minute_rollup")).toEqual([{ n: 0n }]);
    expect(await snapshot(linesPath)).toEqual(expected);
    expect(await snapshot(piecesPath)).toEqual(expected);
  });

  it("hands DuckDB a batch in pieces cut between lines, each line in exactly one piece", async () => {
    const random = seededRandom(18);
    const t = Date.now();
    // Lines of about 270 to 2 070 bytes: pieces of 1 KiB hold one or several, or one longer line.
    const events = Array.from({ length: 400 }, (_, index) =>
      sampleEvent({ id: `p-${index}`, t: t + index, code: "x".repeat(Math.floor(random() * 1_800)) }),
    );
    const lines = spooledLinesOf(events.map((event) => JSON.stringify(event)));
    const pieces = linePieces(lines.text, 1024);
    expect(Buffer.concat(pieces.flatMap((piece, index) => (index === 0 ? [piece] : [Buffer.from("\n"), piece])))).toEqual(lines.text);
    for (const piece of pieces) if (piece.length > 1024) expect(piece.includes(0x0a)).toBe(false);
    expect(pieces.length).toBeGreaterThan(10);
    expect(linePieces(lines.text, lines.text.length)).toEqual([lines.text]);
    expect(() => linePieces(lines.text, 0)).toThrow("linePieceBytes must be a positive integer (got 0)");

    const path = join(mkdtempSync(join(tmpdir(), "duckdb-pieces-")), "store.duckdb");
    const store = await DuckDbStore.open({ path, linePieceBytes: 1024 });
    try {
      await store.migrate();
      await store.writeLines(lines);
    } finally {
      await store.close();
    }
    expect(await queryDuckDb(path, "SELECT id, length(code) AS code FROM events ORDER BY t")).toEqual(
      events.map((event) => ({ id: event.id, code: BigInt(event.code!.length) })),
    );
    await expect(DuckDbStore.open({ path: ":memory:", linePieceBytes: 1.5 })).rejects.toThrow(
      "duckdb store :memory:: linePieceBytes must be a positive integer (got 1.5)",
    );
  });

  it.each([
    ["in one piece", undefined],
    ["a line a piece", 64],
  ])("stores a line whose bytes are not valid UTF-8 as JSON.parse read it on receipt (U+FFFD), %s", async (_pieces, linePieceBytes) => {
    const path = join(mkdtempSync(join(tmpdir(), "duckdb-utf8-")), "store.duckdb");
    const store = await DuckDbStore.open({ path, linePieceBytes });
    try {
      await store.migrate();
      const valid = JSON.stringify(sampleEvent({ id: "u-1", track: "Hoppípolla", t: Date.now() }));
      const [before, after] = JSON.stringify(sampleEvent({ id: "u-2", track: "ab@cd", t: Date.now() })).split("@");
      // A lone 0xFF inside a string: decode() refuses it, JSON.parse on receipt read it as U+FFFD.
      const text = Buffer.concat([Buffer.from(`${valid}\n${before}`), Buffer.from([0xff]), Buffer.from(after)]);
      await store.writeLines({ text, count: 2 }, { spool: "s", from: 0, to: text.length });
      await store.close();
      expect(await queryDuckDb(path, "SELECT id, track FROM events ORDER BY id")).toEqual([
        { id: "u-1", track: "Hoppípolla" },
        { id: "u-2", track: "ab\uFFFDcd" },
      ]);
    } finally {
      await store.close().catch(() => undefined);
    }
  });

  it("commits spool positions on the same terms as writeBatch", async () => {
    const store = await DuckDbStore.open({ path: ":memory:" });
    try {
      await store.migrate();
      const line = JSON.stringify(sampleEvent({ id: "l-1", t: Date.now() }));
      await store.writeLines(spooledLinesOf([line]), { spool: "s", from: 0, to: 10 });
      await store.writeLines(spooledLinesOf([line]), { spool: "s", from: 0, to: 10 });
      expect(await store.countEvents()).toBe(1);
      await expect(store.writeLines(spooledLinesOf([line]), { spool: "s", from: 5, to: 20 })).rejects.toThrow(SpoolPositionMismatch);
    } finally {
      await store.close();
    }
  });
});

describe("DuckDB checkpoints and row groups", () => {
  /** The WAL's size after `batches` writes of `events` events each, with the store open. */
  async function walBytesAfterWrites(options: Omit<DuckDbStoreOptions, "path">, batches: number, events: number): Promise<number> {
    // An apostrophe in the path: the file is attached by a quoted name.
    const path = join(mkdtempSync(join(tmpdir(), "duckdb-checkpoint-")), "the collector's store.duckdb");
    const store = await DuckDbStore.open({ path, ...options });
    await store.migrate();
    const t = Date.now();
    for (let batch = 0; batch < batches; batch++)
      await store.writeLines(
        spooledLinesOf(Array.from({ length: events }, (_, index) => JSON.stringify(sampleEvent({ id: `c-${batch}-${index}`, t })))),
      );
    const bytes = existsSync(`${path}.wal`) ? statSync(`${path}.wal`).size : 0;
    expect(await store.countEvents()).toBe(batches * events);
    await store.close();
    return bytes;
  }

  it("checkpoints at checkpointMegabytes of WAL, and by default lets the WAL grow past 4 MiB first", async () => {
    // Each checkpoint compresses the rows the WAL holds again; fewer of them cost less CPU.
    // Batches below the row group size go through the WAL.
    const [small, byDefault] = [await walBytesAfterWrites({ checkpointMegabytes: 1 }, 6, 10_000), await walBytesAfterWrites({}, 6, 10_000)];
    expect(small).toBeLessThan(2 * 1024 * 1024);
    expect(byDefault).toBeGreaterThan(4 * 1024 * 1024);
  }, 60_000);

  it("writes a batch of at least rowGroupSize rows straight into the file, not through the WAL", async () => {
    // duckdb src/storage/local_storage.cpp, LocalStorage::Flush: a transaction's appends of at least
    // the row group size to a table that holds rows are merged as written row groups; fewer are
    // appended row by row, which the WAL logs.
    // The default (16 384) is below a 20 000-row write; DuckDB's own 122 880 is above it.
    const [byDefault, duckDbOwn] = [
      await walBytesAfterWrites({}, 3, 20_000),
      await walBytesAfterWrites({ rowGroupSize: 122_880 }, 3, 20_000),
    ];
    expect(byDefault).toBeLessThan(1024 * 1024);
    expect(duckDbOwn).toBeGreaterThan(4 * 1024 * 1024);
  }, 60_000);

  it("opens a file written with DuckDB's own row groups with smaller ones, and keeps writing to it", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "duckdb-row-group-")), "store.duckdb");
    const batch = (name: string) =>
      spooledLinesOf(Array.from({ length: 20_000 }, (_, index) => JSON.stringify(sampleEvent({ id: `${name}-${index}` }))));
    const before = await DuckDbStore.open({ path, rowGroupSize: 122_880 });
    await before.migrate();
    await before.writeLines(batch("before"), { spool: "upgrade", from: 0, to: 1 });
    await before.close();
    const after = await DuckDbStore.open({ path, rowGroupSize: 16_384 });
    try {
      await after.migrate();
      expect(await after.committedPosition("upgrade")).toBe(1);
      await after.writeLines(batch("after"), { spool: "upgrade", from: 1, to: 2 });
      expect(await after.countEvents()).toBe(40_000);
    } finally {
      await after.close();
    }
    const [row] = await queryDuckDb(path, "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events");
    expect([Number(row.n), Number(row.ids)]).toEqual([40_000, 40_000]);
  }, 60_000);

  // The settings schema's bounds on duckdbRowGroupSize are DuckDB's: these keep them checked
  // against the engine we ship.
  it.each([
    [10_000, /Invalid row group size: 10000 - row group size must be divisible by the vector size \(2048\)/],
    [245_760, /Unsupported row group size 245760 - row group sizes >= 122_880 are only supported with STORAGE_VERSION/],
  ])("refuses row groups of %i rows as DuckDB does, naming the size", async (rowGroupSize, message) => {
    const path = join(mkdtempSync(join(tmpdir(), "duckdb-row-group-")), "store.duckdb");
    await expect(DuckDbStore.open({ path, rowGroupSize })).rejects.toThrow(message);
  });
});

describe("DuckDB's memory limit and spill directory", () => {
  it("holds DuckDB to memoryLimitMegabytes (512 unless told) and spills beside the store's file, where DuckDB puts a file database's, not in the working directory", async () => {
    // duckdb src/main/config.cpp, SetDefaultTempDirectory: `<database path>.tmp` for a file,
    // `.tmp` for an in-memory instance (the store's, which attaches the file).
    const path = join(mkdtempSync(join(tmpdir(), "duckdb-spill-")), "store.duckdb");
    const byDefault = await DuckDbStore.open({ path: ":memory:" });
    const { reader } = byDefault as unknown as { reader: DuckDBConnection };
    expect((await reader.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0][0]).toBe("512.0 MiB");
    await byDefault.close();
    const store = await DuckDbStore.open({ path, memoryLimitMegabytes: 64 });
    try {
      const { connection } = store as unknown as { connection: DuckDBConnection };
      expect((await connection.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0][0]).toBe("64.0 MiB");
      // A sort of about 200 MB of rows: it spills.
      const sorted = await connection.runAndReadAll(
        "SELECT count(*) AS n FROM (SELECT i, md5(i::VARCHAR) AS h FROM range(3000000) t(i) ORDER BY h)",
      );
      expect(Number(sorted.getRows()[0][0])).toBe(3_000_000);
      expect(existsSync(`${path}.tmp`)).toBe(true);
      expect(existsSync(join(process.cwd(), ".tmp"))).toBe(false);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("DuckDB's allocator", () => {
  // The setting is process-wide: the valid case sets DuckDB 1.5.6's own 1 000 ms, so the tests
  // after it in this worker run as they would have (process-memory.test.ts covers the effect).
  it("opens with allocatorDecayMs given, and a bad value reaches the allocator's check and fails the open naming the setting", async () => {
    await (await DuckDbStore.open({ path: ":memory:", allocatorDecayMs: 1000 })).close();
    await expect(DuckDbStore.open({ path: ":memory:", allocatorDecayMs: -2 })).rejects.toThrow(
      /duckdb store :memory: .*duckdbAllocatorDecayMs must be an integer -1\.\.3600000 \(got -2\)/,
    );
  });
});

describe("DuckDB's kept memory after a read", () => {
  // Process-wide, like the allocator test above: DuckDB 1.5.6's own 1 000 ms is set back after.
  afterAll(async () => (await DuckDbStore.open({ path: ":memory:", allocatorDecayMs: 1000 })).close());

  it("goes back to the system readMemoryPurgeDelayMs after the read, with the allocator keeping freed memory", async () => {
    const store = await DuckDbStore.open({ path: ":memory:", allocatorDecayMs: -1, readMemoryPurgeDelayMs: 300 });
    try {
      const { rows } = store as unknown as { rows: (sql: string) => Promise<unknown[]> };
      const rss = () => process.memoryUsage.rss() / 2 ** 20;
      const before = rss();
      // A hash table of 3 million strings, freed when the read ends.
      await rows.call(store, "SELECT count(*) AS n FROM (SELECT DISTINCT md5(i::VARCHAR) FROM range(3000000) t(i))");
      const kept = rss();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(kept - before).toBeGreaterThan(100);
      expect(kept - rss()).toBeGreaterThan((kept - before) / 2);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("DuckDB streams", () => {
  // Each playback's row is its earliest qualifying event, whatever order its events arrive in,
  // whether the store still remembers the playback (knownStreams: 3 forgets nearly all) or was
  // restarted in between: the plain INSERT, the skip and the upsert must all agree. With room
  // for all, a late event of a remembered playback takes the upsert; with room for 3, nearly
  // every batch meets a stored playback it forgot.
  it.each([3, 1_000])(
    "hold each playback's earliest qualifying event through late events and a restart (remembering %i)",
    async (knownStreams) => {
      const path = join(mkdtempSync(join(tmpdir(), "duckdb-streams-")), "streams.duckdb");
      const random = seededRandom(18);
      const base = Date.now() - 3_600_000;
      const events = Array.from({ length: 1_200 }, (_, n) =>
        sampleEvent({
          id: `st-${n}`,
          sid: `st-s-${n % 7}`,
          pid: `st-p-${Math.floor(random() * 40)}`,
          // Unique times in random order: late events reach back before what is stored.
          t: base + Math.floor(random() * 600) * 1_000 + n,
          device: ["ios", "web", "android"][Math.floor(random() * 3)],
          track: `st-track-${Math.floor(random() * 5)}`,
          listened: random() < 0.5 ? 30_000 + n : 10_000,
        }),
      );
      const expected = new Map<string, { t: number; device: string; track: string }>();
      for (const event of events)
        if ((event.listened ?? 0) >= 30_000 && !(Number(expected.get(event.pid!)?.t) <= event.t))
          expected.set(event.pid!, { t: event.t, device: event.device, track: event.track! });

      let position = 0;
      for (const half of [events.slice(0, 600), events.slice(600)]) {
        const own = await DuckDbStore.open({ path, knownStreams });
        await own.migrate();
        for (let from = 0; from < half.length; from += 30) {
          const lines = spooledLinesOf(half.slice(from, from + 30).map((event) => JSON.stringify(event)));
          await own.writeLines(lines, { spool: "streams", from: position, to: position + lines.text.length });
          position += lines.text.length;
        }
        await own.close();
      }
      const rows = await queryDuckDb(path, "SELECT pid, t, device, track FROM streams ORDER BY pid");
      expect(rows.map((row) => [row.pid, Number(row.t), row.device, row.track])).toEqual(
        [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([pid, s]) => [pid, s.t, s.device, s.track]),
      );
    },
  );
});
