/**
 * Does the DuckDB store's write cost grow with what it holds? Writes the bench's event mix
 * (benchEvent: one new playback in twelve crosses the stream threshold) straight into a
 * DuckDbStore on a file, batch after batch, and prints the rows per second and the time in each
 * statement for every `--every` rows, with the slowest writes and the file's size at the end. Not a
 * test: run it with `npm run bench:store-growth`.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import type { DuckDBConnection } from "@duckdb/node-api";
import { spooledLinesOf } from "../../app/src/store/committing-sink";
import { DuckDbStore } from "../../app/src/store/duckdb-store";
import { benchEvent } from "./bench-event";
import { quantile } from "./quantile";

const options = new Command()
  .option("--rows <n>", "rows to write in all", "16000000")
  .option("--batch <n>", "rows per batch (the collector writes up to batchSize)", "20000")
  .option("--every <n>", "report every this many rows", "2000000")
  .option("--row-group-size <n>", "the store's rowGroupSize (unset: its default)")
  .option("--memory-limit-megabytes <n>", "the store's memoryLimitMegabytes (unset: its default)")
  // Clients' ids (`<session>-p<n>`) are not in order, unlike a counter's: their inserts touch
  // all of DuckDB's key index on streams, so DuckDB holds all of it in memory.
  .option("--random-ids", "event and playback ids as random UUIDs instead of a counter")
  .parse()
  .opts<{ rows: string; batch: string; every: string; rowGroupSize?: string; memoryLimitMegabytes?: string; randomIds?: boolean }>();

const [ROWS, BATCH, EVERY] = [Number(options.rows), Number(options.batch), Number(options.every)];
const ROW_GROUP_SIZE = options.rowGroupSize === undefined ? undefined : Number(options.rowGroupSize);
const MEMORY_LIMIT = options.memoryLimitMegabytes === undefined ? undefined : Number(options.memoryLimitMegabytes);

/** Time spent per statement, keyed by its first words: which statement grows. */
function timeStatements(connection: DuckDBConnection): Map<string, number> {
  const spent = new Map<string, number>();
  for (const method of ["run", "runAndReadAll"] as const) {
    const original = connection[method].bind(connection) as (...args: unknown[]) => Promise<unknown>;
    (connection as unknown as Record<string, unknown>)[method] = async (sql: string, ...rest: unknown[]) => {
      const key = sql.trim().replace(/\s+/g, " ").slice(0, 26);
      const started = performance.now();
      try {
        return await original(sql, ...rest);
      } finally {
        spent.set(key, (spent.get(key) ?? 0) + performance.now() - started);
      }
    };
  }
  return spent;
}

/** The streams table's key index, as much of it as DuckDB holds in memory (the parts writes touched). */
async function streamsIndex(connection: DuckDBConnection): Promise<string> {
  const [[streams, bytes]] = (
    await connection.runAndReadAll(
      "SELECT (SELECT count(*) FROM streams), (SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'ART_INDEX')",
    )
  ).getRows() as Array<[bigint, bigint]>;
  return `streams index in memory ${(Number(bytes) / 2 ** 20).toFixed(0)} MiB for ${Number(streams)} streams (${(Number(bytes) / Number(streams)).toFixed(0)} B each)`;
}

/** What DuckDB says it holds, by tag (`duckdb_memory()`): what of the process's RSS is its buffer manager's. */
async function duckDbMemory(connection: DuckDBConnection): Promise<string> {
  const rows = (
    await connection.runAndReadAll("SELECT tag, memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0 ORDER BY tag")
  ).getRows() as Array<[string, bigint]>;
  return rows.map(([tag, bytes]) => `${tag} ${(Number(bytes) / 2 ** 20).toFixed(0)}`).join(", ") + " MiB";
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), "store-growth-"));
  const path = join(directory, "growth.duckdb");
  const store = await DuckDbStore.open({ path, rowGroupSize: ROW_GROUP_SIZE, memoryLimitMegabytes: MEMORY_LIMIT });
  await store.migrate();
  const { connection } = store as unknown as { connection: DuckDBConnection };
  const spent = timeStatements(connection);
  const t = Date.now();
  let [n, position, reported, windowStarted] = [0, 0, 0, performance.now()];
  const writes: number[] = [];
  while (n < ROWS) {
    const lines: string[] = [];
    for (let i = 0; i < BATCH; i++, n++) lines.push(JSON.stringify(benchEvent(n, t, options.randomIds ? randomUUID() : `growth-${n}`)));
    const spooled = spooledLinesOf(lines);
    const writeStarted = performance.now();
    await store.writeLines(spooled, { spool: "growth", from: position, to: position + spooled.text.length });
    writes.push(performance.now() - writeStarted);
    position += spooled.text.length;
    if (n - reported >= EVERY) {
      const seconds = (performance.now() - windowStarted) / 1000;
      const statements = [...spent].map(([sql, ms]) => `${sql}: ${(ms / 1000).toFixed(1)} s`).join(" | ");
      const sorted = writes.sort((a, b) => a - b);
      const index = `${await streamsIndex(connection)} | RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB, DuckDB's own ${await duckDbMemory(connection)}`;
      const slowest = `writes p50 ${quantile(sorted, 0.5).toFixed(0)} ms, p90 ${quantile(sorted, 0.9).toFixed(0)}, max ${quantile(sorted, 1).toFixed(0)}`;
      process.stdout.write(
        `${(n / 1e6).toFixed(0)} M rows: ${Math.round((n - reported) / seconds / 1000)}k rows/s | ${slowest} | ${index} | ${statements}\n`,
      );
      [reported, windowStarted] = [n, performance.now()];
      spent.clear();
      writes.length = 0;
    }
  }
  await store.close();
  process.stdout.write(`file: ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB after ${(n / 1e6).toFixed(1)} M rows\n`);
  rmSync(directory, { recursive: true, force: true });
}

main().catch((error: Error) => {
  process.stderr.write(`store-growth: ${error.stack}\n`);
  process.exit(1);
});
