import { execFileSync } from "node:child_process";
import { ADDON_PATH } from "./native-addon";
import { keepDuckDbFreedMemory, mallocThresholds } from "./process-memory";

/**
 * Minor page faults of a fresh Node process that allocates, fills and frees a 40 MiB buffer
 * 20 times (the size of a full store batch's text), with or without the thresholds applied.
 */
function pageFaultsOfLargeAllocations(thresholds?: ReturnType<typeof mallocThresholds>): number {
  const script = `
    const addon = require(${JSON.stringify(ADDON_PATH)});
    const thresholds = ${JSON.stringify(thresholds ?? null)};
    if (thresholds && !addon.setMallocThresholds(thresholds.mmapThresholdBytes, thresholds.trimThresholdBytes))
      throw new Error("mallopt refused the thresholds");
    const before = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 20; i++) {
      Buffer.alloc(40 * 1024 * 1024).fill(1);
      globalThis.gc();
    }
    process.stdout.write(String(process.resourceUsage().minorPageFault - before));`;
  return Number(execFileSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8" }));
}

describe("malloc thresholds", () => {
  it("derive from the retained size: a quarter of it served from the heap, at most 64 MiB", () => {
    expect(mallocThresholds(256)).toEqual({ mmapThresholdBytes: 64 * 1024 * 1024, trimThresholdBytes: 256 * 1024 * 1024 });
    expect(mallocThresholds(16)).toEqual({ mmapThresholdBytes: 4 * 1024 * 1024, trimThresholdBytes: 16 * 1024 * 1024 });
    expect(() => mallocThresholds(0)).toThrow(/mallocRetainMegabytes must be an integer 1\.\.2047 \(got 0\)/);
    expect(() => mallocThresholds(4096)).toThrow(/got 4096/);
  });

  it("let a process reuse the pages of a freed 40 MiB block instead of faulting in fresh ones", () => {
    const defaults = pageFaultsOfLargeAllocations();
    const retained = pageFaultsOfLargeAllocations(mallocThresholds(256));
    // glibc's defaults map each block afresh: 20 × 10 240 pages. Retained: the first block's pages, then reuse.
    expect(defaults).toBeGreaterThan(20 * 10_240 * 0.9);
    expect(retained).toBeLessThan(defaults / 5);
  });
});

/**
 * A fresh Node process with DuckDB loaded: sets its allocator's decay (unless null), then runs
 * an allocation-heavy query (a DISTINCT over 300 000 strings) 10 times, and reports the minor
 * page faults of those runs and what the addon answered.
 */
function duckDbAllocatorRun(decayMs: number | null, loadDuckDb = true): { set: unknown; faults: number } {
  const script = `
    const addon = require(${JSON.stringify(ADDON_PATH)});
    (async () => {
      let query = async () => undefined;
      if (${loadDuckDb}) {
        const { DuckDBInstance } = require("@duckdb/node-api");
        const connection = await (await DuckDBInstance.create(":memory:", { threads: "1" })).connect();
        query = () => connection.run("SELECT count(*) FROM (SELECT DISTINCT md5(i::VARCHAR) FROM range(300000) t(i))");
      }
      const set = ${decayMs} === null ? null : addon.setDuckDbAllocatorDecay(${decayMs});
      await query();
      const before = process.resourceUsage().minorPageFault;
      for (let i = 0; i < 10; i++) await query();
      process.stdout.write(JSON.stringify({ set, faults: process.resourceUsage().minorPageFault - before }));
    })();`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as { set: unknown; faults: number };
}

describe("DuckDB's allocator decay", () => {
  it("reads DuckDB's own 1 s from the pinned library, and sets and reads back another", () => {
    // DuckDB configures its bundled jemalloc's decay as DUCKDB_JEMALLOC_DECAY * 1000 ms
    // (extension/jemalloc/jemalloc/README.md in duckdb/duckdb; 5 s in the version indexed there,
    // 1 s in the 1.5.6 library pinned here). -1 disables purging: doc/jemalloc.xml.in in jemalloc/jemalloc.
    const { set } = duckDbAllocatorRun(-1);
    expect(set).toEqual({
      library: expect.stringMatching(/\/libduckdb[^/]*$/),
      configuredMs: 1000,
      appliedMs: -1,
      arenas: expect.any(Number),
    });
    expect((set as { arenas: number }).arenas).toBeGreaterThanOrEqual(1);
    expect(duckDbAllocatorRun(60_000).set).toMatchObject({ configuredMs: 1000, appliedMs: 60_000 });
  });

  it("keeps DuckDB's freed pages for reuse: -1 faults a fraction of what 0 (purge at once) does", () => {
    const purged = duckDbAllocatorRun(0);
    const kept = duckDbAllocatorRun(-1);
    expect(purged.set).toMatchObject({ appliedMs: 0 });
    // 10 runs of a hash table of 300 000 strings: every run's pages afresh, against the first run's reused.
    expect(purged.faults).toBeGreaterThan(10 * 1_000);
    expect(kept.faults).toBeLessThan(purged.faults / 4);
  });

  it("says so when no DuckDB is loaded, and the setting's helper refuses it and bad values by name", () => {
    expect(duckDbAllocatorRun(-1, false).set).toEqual({ error: "no DuckDB library (libduckdb*) is loaded in this process" });
    expect(() => keepDuckDbFreedMemory(-2)).toThrow(/duckdbAllocatorDecayMs must be an integer -1\.\.3600000 \(got -2\)/);
    expect(() => keepDuckDbFreedMemory(1.5)).toThrow(/got 1\.5/);
  });

  it("keeps a big query's pages resident until they are purged, then hands them back", () => {
    // arena.<i>.purge hands back an arena's unused dirty pages whatever its decay (doc/jemalloc.xml.in in jemalloc/jemalloc).
    const script = `
      const addon = require(${JSON.stringify(ADDON_PATH)});
      const { DuckDBInstance } = require("@duckdb/node-api");
      const rssMiB = () => process.memoryUsage.rss() / 2 ** 20;
      (async () => {
        const connection = await (await DuckDBInstance.create(":memory:", { threads: "1" })).connect();
        addon.setDuckDbAllocatorDecay(-1);
        const before = rssMiB();
        await connection.run("SELECT count(*) FROM (SELECT DISTINCT md5(i::VARCHAR) FROM range(3000000) t(i))");
        const kept = rssMiB();
        const purged = addon.purgeDuckDbFreedMemory();
        process.stdout.write(JSON.stringify({ before, kept, after: rssMiB(), purged }));
      })();`;
    const run = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as Record<string, number> & {
      purged: unknown;
    };
    expect(run.purged).toEqual({ library: expect.stringMatching(/\/libduckdb[^/]*$/), arenas: expect.any(Number) });
    // The DISTINCT's hash table of 3 million strings: well over 100 MiB kept after the query, most of it gone after the purge.
    expect(run.kept - run.before).toBeGreaterThan(100);
    expect(run.kept - run.after).toBeGreaterThan((run.kept - run.before) / 2);
  });

  it("says so when purging with no DuckDB loaded", () => {
    // A fresh process: this jest worker may have loaded DuckDB for another test file.
    const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(ADDON_PATH)}).purgeDuckDbFreedMemory()))`;
    expect(JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }))).toEqual({
      error: "no DuckDB library (libduckdb*) is loaded in this process",
    });
  });
});
