/**
 * Nothing accepted is lost or counted twice: real collector processes, a real DuckDB file and
 * a real spool. Every assertion is an exact count (sent = stored + counted rejections + drops).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCollector } from "../../test-support/collector-process";
import { duckDbIds, quality, queryDuckDb, settled, smallFilesystem, storeOutageMidStream } from "../../test-support/collector/durability";
import { killMidStreamAndRestart } from "../../test-support/collector/kill-scenario";
import { EventStream } from "../../test-support/collector/event-stream";
import { DuckDbStore } from "./store/duckdb-store";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isRoot = process.getuid?.() === 0;

// The store writes every 2 s, so a kill always finds spooled records the store does not have.
const SLOW_STORE = [
  "--flush-interval-ms",
  "2000",
  "--spool-fsync-interval-ms",
  "20",
  "--store-retry-base-ms",
  "100",
  "--log-level",
  "info",
];

describe("a collector killed mid-stream (SIGKILL) over DuckDB", () => {
  it.each([
    ["restarts on the same spool and stores every spooled event exactly once", false],
    ["recovers a torn last record: keeps every complete one and reports the torn one", true],
  ])(
    "%s",
    async (_title, tear) => {
      const work = mkdtempSync(join(tmpdir(), "kill-"));
      const duckdbPath = join(work, "collector.duckdb");
      await killMidStreamAndRestart({
        prefix: tear ? "torn" : "kill",
        tear,
        duckdbPath,
        spoolDir: join(work, "spool"),
        args: SLOW_STORE,
        store: {
          async state(spoolId) {
            const store = await DuckDbStore.open({ path: duckdbPath });
            try {
              return { stored: await store.countEvents(), committed: await store.committedPosition(spoolId) };
            } finally {
              await store.close();
            }
          },
          ids: () => duckDbIds(duckdbPath),
        },
      });
    },
    90_000,
  );
});

const describeAsRoot = isRoot ? describe : describe.skip;
if (!isRoot) {
  if (process.env.CI === "true") throw new Error("CI: the store-outage test needs root to mount a small tmpfs");
  console.warn("SKIPPING: the DuckDB outage test needs root to mount a small tmpfs");
}

describeAsRoot("the DuckDB store becomes unwritable mid-stream (its disk fills up)", () => {
  it("keeps accepting into the spool, retries, and stores every accepted event exactly once when space returns", async () => {
    const disk = smallFilesystem(48);
    const spoolDir = mkdtempSync(join(tmpdir(), "outage-spool-"));
    const duckdbPath = join(disk.dir, "collector.duckdb");
    const collector = await spawnCollector({
      duckdbPath,
      spoolDir,
      args: ["--flush-interval-ms", "100", "--store-retry-base-ms", "100", "--log-level", "warn"],
    });
    try {
      const { final } = await storeOutageMidStream(collector, "full", { begin: disk.fill, end: disk.free });
      const ids = await duckDbIds(duckdbPath);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(final.accepted);
      // Replayed in order: batches are stamped in write order, so an event sent later never
      // sits in an earlier batch than one sent before it.
      const stamps = (await queryDuckDb(duckdbPath, "SELECT received_at FROM events ORDER BY seq")).map((row) => Number(row.received_at));
      expect(stamps.filter((stamp, index) => index > 0 && stamp < stamps[index - 1])).toEqual([]);
      expect(new Set(stamps).size).toBeGreaterThan(3);
    } finally {
      collector.child.kill("SIGKILL");
      await collector.exited;
      disk.release();
    }
  }, 90_000);
});

describeAsRoot("SIGTERM while the store cannot take anything", () => {
  it("exits within the bound and leaves the backlog in the spool, which the next start stores", async () => {
    const disk = smallFilesystem(48);
    const spoolDir = mkdtempSync(join(tmpdir(), "term-spool-"));
    const duckdbPath = join(disk.dir, "collector.duckdb");
    const args = ["--flush-interval-ms", "100", "--store-retry-base-ms", "100", "--shutdown-timeout-ms", "2000", "--log-level", "warn"];
    const first = await spawnCollector({ duckdbPath, spoolDir, args });
    const stream = new EventStream(first.udpPort, "term");
    let second: Awaited<ReturnType<typeof spawnCollector>> | undefined;
    try {
      stream.start();
      await sleep(500);
      disk.fill();
      await sleep(1_000);
      stream.stop();
      await sleep(300);
      const before = await quality(first.base);
      expect(before.accepted).toBe(stream.sent);
      expect(before.spool.backlogBytes).toBeGreaterThan(0);
      const signalledAt = Date.now();
      first.child.kill("SIGTERM");
      const firstCode = await first.exited;
      if (firstCode !== 1)
        console.log(`first collector: exit ${firstCode}, signal ${first.child.signalCode}\n${first.output().slice(-3000)}`);
      expect(firstCode).toBe(1); // not drained: said so, and nothing lost
      expect(Date.now() - signalledAt).toBeLessThan(2_000 + 1_500);
      expect(first.output()).toMatch(/shutdown deadline passed; the rest stays in the spool for the next start/);

      disk.free();
      second = await spawnCollector({ duckdbPath, spoolDir, args });
      await settled(second.base);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
      const ids = await duckDbIds(duckdbPath);
      expect(ids.length).toBe(stream.sent);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      stream.close();
      first.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
      await first.exited;
      if (second) await second.exited;
      disk.release();
    }
  }, 90_000);
});

describe("a full spool", () => {
  it("refuses new events as overload, says so on /readyz, and stores exactly what it accepted", async () => {
    const work = mkdtempSync(join(tmpdir(), "full-spool-"));
    // The store writes only every 60 s, so the spool fills; 16 KiB segments, 64 KiB bound.
    const collector = await spawnCollector({
      duckdbPath: join(work, "collector.duckdb"),
      spoolDir: join(work, "spool"),
      args: [
        "--flush-interval-ms",
        "60000",
        "--batch-size",
        "1000000",
        "--spool-segment-bytes",
        "16384",
        "--spool-max-bytes",
        "200000",
        "--spool-ready-max-ratio",
        "0.5",
        "--log-level",
        "warn",
      ],
    });
    const stream = new EventStream(collector.udpPort, "over", 20, 10);
    try {
      stream.start();
      await sleep(2_000);
      stream.stop();
      await sleep(300);
      const full = await quality(collector.base);
      expect(full.rejected.events.overload).toBeGreaterThan(0);
      expect(full.received.events).toBe(stream.sent);
      expect(full.accepted + full.rejected.events.overload).toBe(stream.sent);
      expect(full.spool.diskBytes).toBeLessThanOrEqual(200_000);
      const readiness = await fetch(`${collector.base}/readyz`);
      expect(readiness.status).toBe(503);
      expect(await readiness.json()).toEqual({ status: "not ready", reason: expect.stringMatching(/^spool \d+\.\d% full$/) });
      collector.child.kill("SIGTERM");
      expect(await collector.exited).toBe(0);
      const ids = await duckDbIds(join(work, "collector.duckdb"));
      expect(ids.length).toBe(full.accepted);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      stream.close();
      collector.child.kill("SIGKILL");
    }
  }, 60_000);
});
