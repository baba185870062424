import { DuckDBInstance } from "@duckdb/node-api";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEGMENT_MAGIC } from "../../app/src/spool/record-format";
import type { CollectorProcess } from "../collector-process";
import { EventStream } from "./event-stream";

/** What the quality endpoint of a running collector process reports. */
export interface Quality {
  received: { datagrams: number; events: number };
  accepted: number;
  stored: number;
  rejected: { events: Record<string, number>; datagrams: Record<string, number> };
  spool: { diskBytes: number; maxBytes: number; backlogBytes: number; segments: number };
}

export async function quality(base: string): Promise<Quality> {
  return (await (await fetch(`${base}/api/v1/quality?from=0&to=1`)).json()) as Quality;
}

export async function metric(base: string, name: string): Promise<number> {
  return metricIn(await (await fetch(`${base}/metrics`)).text(), name);
}

/** One series' value in a scrape's text; `name` as exposed, labels included (`x_bucket{le="0.5"}`). */
export function metricIn(text: string, name: string): number {
  const series = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^${series} (\\d+(?:\\.\\d+)?)$`, "m").exec(text);
  if (!match) throw new Error(`metric ${name} not found`);
  return Number(match[1]);
}

/** Every received event is accepted or counted as rejected (the intake has written its last turn). */
function everyArrivalCounted(now: Quality): boolean {
  return now.accepted + Object.values(now.rejected.events).reduce((sum, count) => sum + count, 0) === now.received.events;
}

/**
 * Waits until nothing more arrives, every arrival is accounted for and the spool has no
 * backlog. (`stored` also counts events replayed from an earlier run, so it is not compared.)
 */
export async function settled(base: string, timeoutMs = 60_000): Promise<Quality> {
  const deadline = Date.now() + timeoutMs;
  let previous = -1;
  for (;;) {
    const now = await quality(base);
    if (now.spool.backlogBytes === 0 && everyArrivalCounted(now) && now.received.events === previous) return now;
    if (Date.now() > deadline) throw new Error(`not settled after ${timeoutMs} ms: ${JSON.stringify(now)}`);
    previous = now.received.events;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Rows of a query on a DuckDB file, read with DuckDB itself (not through the collector). */
export async function queryDuckDb(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjects();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export async function duckDbIds(path: string): Promise<string[]> {
  return (await queryDuckDb(path, "SELECT id FROM events")).map((row) => String(row.id));
}

interface RecordOnDisk {
  /** Stream position of the record's header. */
  readonly position: number;
  readonly bytes: number;
  readonly lines: string[];
  readonly segmentPath: string;
  readonly segmentBase: number;
}

/**
 * Every complete record in the spool's files, decoded here from the documented format
 * (8-byte magic, then u32 length | u32 CRC | payload) rather than by SpoolReader, so the tests'
 * expected values do not come from the code under test. A record cut short ends its file.
 */
function recordsOnDisk(dir: string): RecordOnDisk[] {
  const records: RecordOnDisk[] = [];
  const segments = readdirSync(dir)
    .filter((name) => /^\d{20}\.seg$/.test(name))
    .sort();
  for (const name of segments) {
    const segmentPath = join(dir, name);
    const segmentBase = Number(name.slice(0, 20));
    const content = readFileSync(segmentPath);
    let offset = SEGMENT_MAGIC.length;
    while (offset + 8 <= content.length) {
      const length = content.readUInt32LE(offset);
      if (offset + 8 + length > content.length) break;
      const lines = content
        .subarray(offset + 8, offset + 8 + length)
        .toString("utf8")
        .split("\n");
      records.push({ position: segmentBase + offset - SEGMENT_MAGIC.length, bytes: 8 + length, lines, segmentPath, segmentBase });
      offset += 8 + length;
    }
  }
  return records;
}

/** The spool as a crash left it: its id, where its files end, and the newest record. */
export function spoolOnDisk(dir: string): { id: string; end: number; lastRecord: RecordOnDisk } {
  const records = recordsOnDisk(dir);
  const lastRecord = records[records.length - 1];
  return {
    id: readFileSync(join(dir, "spool-id"), "utf8").trim(),
    end: lastRecord.segmentBase + statSync(lastRecord.segmentPath).size - SEGMENT_MAGIC.length,
    lastRecord,
  };
}

/** The event ids in complete spool records between stream positions `from` and `end`. */
export function spooledIds(dir: string, from: number, end: number): string[] {
  return recordsOnDisk(dir)
    .filter((record) => record.position >= from && record.position + record.bytes <= end)
    .flatMap((record) => record.lines.map((line) => (JSON.parse(line) as { id: string }).id));
}

/**
 * A small tmpfs the test can fill to make a store unwritable (as root: plain permissions do
 * not stop root). Unmounted by `release`, also when the test failed.
 */
export function smallFilesystem(megabytes: number): { dir: string; fill(): void; free(): void; release(): void } {
  const dir = mkdtempSync(join(tmpdir(), "full-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m`, "tmpfs", dir]);
  const filler = join(dir, "filler");
  return {
    dir,
    // dd stops at ENOSPC and exits non-zero: that is the point.
    fill: () => void execFileSync("sh", ["-c", `dd if=/dev/zero of=${filler} bs=1M 2>/dev/null || true`]),
    free: () => rmSync(filler, { force: true }),
    release: () => {
      execFileSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Streams events into a collector process, takes its store away for 2.5 s mid-stream and
 * brings it back. Checks that ingest went on into the spool meanwhile, and that every event
 * sent was received and accepted; returns the final account once the collector has drained
 * and exited cleanly. The caller counts what its store holds.
 */
export async function storeOutageMidStream(
  collector: CollectorProcess,
  prefix: string,
  outage: { begin(): unknown; end(): unknown },
): Promise<{ final: Quality; sent: number }> {
  const stream = new EventStream(collector.udpPort, prefix);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    stream.start();
    await sleep(1_000);
    await outage.begin();
    await sleep(2_500);
    const during = await quality(collector.base);
    expect(await metric(collector.base, "collector_store_errors_total")).toBeGreaterThan(0);
    expect(during.spool.backlogBytes).toBeGreaterThan(0);
    expect(during.accepted).toBeGreaterThan(during.stored);
    await outage.end();
    await sleep(1_000);
    stream.stop();
    const final = await settled(collector.base);
    collector.child.kill("SIGTERM");
    expect(await collector.exited).toBe(0);
    expect(final.received.events).toBe(stream.sent);
    expect(final.accepted).toBe(stream.sent);
    return { final, sent: stream.sent };
  } finally {
    stream.close();
  }
}
