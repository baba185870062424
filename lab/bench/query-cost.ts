/**
 * Benchmark: what the ClickHouse store's insight queries cost as history grows. For each size
 * (1, 10 and 50 million events by default, at a constant rate of --events-per-day, so more
 * events mean more days, not a busier window) it fills a fresh database through the store's own
 * schema and materialized views (INSERT … SELECT FROM numbers, server-side), then times the API's
 * queries for a 10-minute window at the end of the data and one a day earlier. The goal: the
 * largest size costs no more than 2× the smallest. Not a test: `npm run bench:queries`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Command } from "commander";
import { STORED_FIELDS } from "../../app/src/protocol/event";
import { ClickHouseStore, httpConnection } from "../../app/src/store/clickhouse-store";
import type { InsightQuery } from "../../app/src/store/store";
import { startClickHouse } from "../../test-support/clickhouse";
import { lossEstimateWindow } from "../../app/src/http/loss-estimate";

const options = new Command()
  .option("--sizes <list>", "events stored, per run", "1000000,10000000,50000000")
  .option("--events-per-day <n>", "the constant event rate the history is spread at", "500000")
  .option("--window-minutes <n>", "the queried window", "10")
  .option("--repeats <n>", "timings per query (the median is reported)", "3")
  .option("--url <url>", "an existing server instead of starting clickhouse-server on loopback")
  .option("--reuse", "with --url: query the databases an earlier run filled (the same sizes), to compare query changes on the same data")
  .option("--out <dir>", "where results.json and results.md go", "lab/bench/out/query-cost")
  .parse()
  .opts<{ sizes: string; eventsPerDay: string; windowMinutes: string; repeats: string; url?: string; reuse?: boolean; out: string }>();

const SIZES = options.sizes.split(",").map(Number);
const PER_DAY = Number(options.eventsPerDay);
const WINDOW_MS = Number(options.windowMinutes) * 60_000;
const REPEATS = Number(options.repeats);
const DAY = 86_400_000;

/**
 * Events as players send them, synthesized from n: 2 000 sessions at a time, each of 40 events
 * in four playbacks of ten (play, heartbeats with growing `listened`, a buffer_end, then a
 * complete, or an early skip for every fifth playback), over four regions and three devices.
 */
function fillSql(database: string, offset: number, count: number, start: number): string {
  const sid = "(intDiv(n, 80000) * 2000 + n % 2000)";
  const seq = "(intDiv(n % 80000, 2000) + 1)";
  const pid = `(${sid} * 4 + intDiv(${seq} - 1, 10))`;
  const k = `((${seq} - 1) % 10)`;
  const columns: Record<string, string> = {
    id: "concat('e', toString(n))",
    type: `multiIf(${k} = 0, 'play', ${k} = 2 AND ${pid} % 5 = 0, 'skip', ${k} = 5, 'buffer_end', ${k} = 9, 'complete', 'heartbeat')`,
    sid: `concat('s', toString(${sid}))`,
    uid: `concat('u', toString(${sid} % 50000))`,
    t: `toInt64(${start} + intDiv(n * ${DAY}, ${PER_DAY}))`,
    seq: `toInt64(${seq})`,
    region: `arrayElement(['eu', 'us', 'apac', 'latam'], ${sid} % 4 + 1)`,
    device: `arrayElement(['ios', 'android', 'web'], ${sid} % 3 + 1)`,
    app: "'4.2.0'",
    bitrate: "toInt64(320)",
    pid: `concat('p', toString(${pid}))`,
    track: `concat('track-', toString(cityHash64(${pid}) % 20000))`,
    artist: `concat('artist-', toString(cityHash64(${pid}) % 2000))`,
    pos: `toInt64(${k} * 10000)`,
    listened: `toInt64(${k} * 10000)`,
    source: `arrayElement(['playlist', 'album', 'search'], ${pid} % 3 + 1)`,
    stall: `if(${k} = 5, toInt64(400 + ${pid} % 700), NULL)`,
    code: "NULL",
  };
  const names = [...STORED_FIELDS.map((field) => field.name), "received_at", "batch"];
  const values = names.map((name) => (name === "received_at" ? columns.t : name === "batch" ? "'bench'" : columns[name]));
  for (const [index, name] of names.entries()) if (values[index] === undefined) throw new Error(`no synthesized value for ${name}`);
  return `INSERT INTO ${database}.events (${names.join(", ")}) SELECT ${values.join(", ")} FROM (SELECT number AS n FROM system.numbers LIMIT ${count} OFFSET ${offset})`;
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < REPEATS; run++) {
    const began = performance.now();
    await work();
    times.push(performance.now() - began);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

interface Row {
  size: number;
  days: number;
  window: string;
  query: string;
  ms: number;
}

async function main(): Promise<void> {
  const binary = spawnSync("sh", ["-c", "command -v clickhouse-server"], { encoding: "utf8" }).stdout.trim();
  const server = options.url ? undefined : await startClickHouse(binary || "clickhouse-server");
  const url = options.url ?? server!.url;
  const rows: Row[] = [];
  try {
    for (const size of SIZES) {
      const days = size / PER_DAY;
      let end = Math.floor(Date.now() / 60_000) * 60_000;
      const database = `qc_${size}`;
      const connection = httpConnection({ url });
      const store = ClickHouseStore.over(connection, { database });
      if (!options.reuse) await connection.command(`DROP DATABASE IF EXISTS ${database}`);
      await store.migrate();
      if (options.reuse) {
        // The data ends where the earlier run put it: the last event's minute ends the last window.
        const [row] = await connection.rows(`SELECT max(t) AS last, count() AS n FROM ${database}.events`);
        if (Number(row.n) !== size) throw new Error(`--reuse: ${database} holds ${String(row.n)} events, not ${size}`);
        end = Math.ceil((Number(row.last) + 1) / 60_000) * 60_000;
      }
      const start = end - Math.round(days * DAY);
      if (!options.reuse) {
        const filling = performance.now();
        // In blocks of a million, each well inside the client's request timeout.
        for (let offset = 0; offset < size; offset += 1_000_000) {
          await connection.command(fillSql(database, offset, Math.min(1_000_000, size - offset), start));
        }
        console.log(`${size} events over ${days} days stored in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
      }
      const windows: Array<[string, InsightQuery]> = [
        [`last ${options.windowMinutes} min`, { from: end - WINDOW_MS, to: end }],
        ["a day earlier", { from: end - DAY - WINDOW_MS, to: end - DAY }],
        // The collector's loss-estimate job asks this every 10 s: 15 minutes, ending mid-minute.
        ["loss estimate", lossEstimateWindow(end - 30_000)],
      ];
      for (const [label, w] of windows) {
        if (w.from < start) continue;
        const queries: Record<string, () => Promise<unknown>> = {
          summary: () => store.insights.summary(w),
          top: () => store.insights.top(w, "track", 10),
          trending: () => store.insights.trending(w, "track", 10),
          regions: () => store.insights.experienceByRegion(w),
          quality: () => store.insights.qualityByRegion(w),
          concurrent: () => store.insights.concurrentListeners(w.to),
        };
        for (const [query, run] of Object.entries(queries)) {
          const ms = await timed(run);
          rows.push({ size, days, window: label, query, ms });
          console.log(`  ${label.padEnd(14)} ${query.padEnd(11)} ${ms.toFixed(0).padStart(7)} ms`);
        }
      }
      await store.close();
    }
  } finally {
    await server?.stop();
  }
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "results.json"), `${JSON.stringify({ options, rows }, null, 2)}\n`);
  writeFileSync(join(options.out, "results.md"), table(rows));
  console.log(`\n${table(rows)}`);
}

/** Median ms per query and window, one column per size, and largest ÷ smallest. */
function table(rows: Row[]): string {
  const sizes = [...new Set(rows.map((row) => row.size))];
  const keys = [...new Set(rows.map((row) => `${row.window}|${row.query}`))];
  const lines = [
    `| window | query | ${sizes.map((size) => `${size / 1e6} M events`).join(" | ")} | largest ÷ smallest |`,
    `| --- | --- | ${sizes.map(() => "---").join(" | ")} | --- |`,
  ];
  for (const key of keys) {
    const [window, query] = key.split("|");
    const ms = sizes.map((size) => rows.find((row) => row.size === size && row.window === window && row.query === query)?.ms);
    const known = ms.filter((value): value is number => value !== undefined);
    const ratio = known.length > 1 ? Math.max(...known) / Math.min(...known) : undefined;
    lines.push(
      `| ${window} | ${query} | ${ms.map((value) => (value === undefined ? "–" : `${value.toFixed(0)} ms`)).join(" | ")} | ${ratio ? ratio.toFixed(2) : "–"} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

void main();
