/**
 * Benchmark: the highest offered rate at which ≥ 99.9 % of events are stored, for 1 and 6
 * events per datagram, for the collector and for etsy statsd 0.9.0 with the same C sender and
 * packing; plus send-to-API visibility latency. Not a test: run it with `npm run bench`.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { parse } from "yaml";
import { startClickHouse, type RunningClickHouse } from "../../test-support/clickhouse";
import { compileCollector, freePort, spawnCollector } from "../../test-support/collector-process";
import { metricIn } from "../../test-support/collector/durability";
import { benchEvent } from "./bench-event";
import { renderChart, type Series } from "./svg-chart";
import { quantile } from "./quantile";

const options = new Command()
  .option("--seconds <n>", "length of each trial", "5")
  .option(
    "--rates <list>",
    "offered events/s to try, ascending",
    "20000,40000,60000,80000,100000,120000,140000,160000,200000,240000,280000,320000",
  )
  .option("--max-rate <events/s>", "past the list's top, rates step on until a miss, up to this", "1000000")
  .option("--packings <list>", "events per datagram", "1,6")
  // Near either system's ceiling one trial is a coin toss (a pass above a miss, a miss below a
  // pass); with several, a rate passes when most of its trials do.
  .option("--repeats <n>", "trials per rate; a rate passes when most of them store ≥ 99.9 %", "1")
  .option("--out <dir>", "where the table, JSON and SVG go", "lab/bench/out")
  .option("--skip-statsd", "measure only the collector")
  .option("--latency-only", "skip the sweeps; measure only visibility")
  .option("--skip-latency", "skip the visibility runs")
  // Fixed rather than derived from the sweep: a 6 s trial on a fresh store passes rates that the
  // store cannot sustain for the latency run's minute as its tables grow.
  .option("--latency-load <events/s>", "background load while measuring visibility", "80000")
  // Each poll is a DuckDB query on the collector's two cores: at 80k events/s, polling every 5 ms
  // added 29 % of a core to the collector's CPU and 25 ms added 12 % (the dashboard polls every
  // 2 s). 25 ms still resolves visibility to 1 % of the 2 s goal.
  .option("--latency-poll-ms <ms>", "how often the API is asked whether a latency marker is visible", "25")
  // A fresh collector's first writes under the load are its start, not its load: in the first
  // second its writes held 50 000–65 000 events and took 0.7–0.8 s, and with 1 s of settling its
  // first two markers were a run's two slowest (1.35 and 1.23 s against at most 1.02 s after).
  .option("--latency-settle-ms <ms>", "how long the background load runs before the first latency marker", "5000")
  .option("--collector-args <args>", 'extra `collector serve` flags, e.g. "--udp-receiver dgram"', "")
  // ClickHouse runs on loopback (clickhouse-server from PATH), on the same two cores.
  .option("--stores <list>", "the collector's stores to measure, in the same run: duckdb, clickhouse", "duckdb")
  // The store's work yields to UDP receive in both cases: DuckDB's inside the collector (storeNice,
  // 10), ClickHouse's here as its own process on the same two cores. In production it has its own nodes.
  .option("--clickhouse-nice <n>", "nice value of the loopback clickhouse-server", "10")
  .option(
    "--soak-minutes <n>",
    "also hold --soak-rate (6 per datagram) this long per store, the stored count sampled every 10 s (0: off)",
    "0",
  )
  .option("--soak-rate <events/s>", "the soak's offered rate", "150000")
  .parse()
  .opts<{
    seconds: string;
    rates: string;
    maxRate: string;
    packings: string;
    repeats: string;
    out: string;
    skipStatsd?: boolean;
    latencyOnly?: boolean;
    skipLatency?: boolean;
    collectorArgs: string;
    latencyLoad: string;
    latencyPollMs: string;
    latencySettleMs: string;
    stores: string;
    clickhouseNice: string;
    soakMinutes: string;
    soakRate: string;
  }>();

const SECONDS = Number(options.seconds);
const RATES = options.rates.split(",").map(Number);
const MAX_RATE = Number(options.maxRate);
const PACKINGS = options.latencyOnly ? [] : options.packings.split(",").map(Number);
const LATENCY_LOAD = Number(options.latencyLoad);
const TARGET = 0.999;
const REPEATS = Number(options.repeats);
if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error(`--repeats must be a positive integer (got "${options.repeats}")`);
const STORES = options.stores.split(",").map((store) => store.trim());
for (const store of STORES)
  if (store !== "duckdb" && store !== "clickhouse") throw new Error(`--stores: "${store}" is not duckdb or clickhouse`);
type StoreKind = "duckdb" | "clickhouse";
const SOAK_MINUTES = Number(options.soakMinutes);
const SOAK_RATE = Number(options.soakRate);
if (!(SOAK_MINUTES >= 0)) throw new Error(`--soak-minutes must be 0 or more (got "${options.soakMinutes}")`);
const LATENCY_POLL_MS = Number(options.latencyPollMs);
if (!(LATENCY_POLL_MS > 0)) throw new Error(`--latency-poll-ms must be a positive number (got "${options.latencyPollMs}")`);
const LATENCY_SETTLE_MS = Number(options.latencySettleMs);
if (!(LATENCY_SETTLE_MS >= 0)) throw new Error(`--latency-settle-ms must be 0 or more (got "${options.latencySettleMs}")`);
/** The background load runs this long after settling: 100 markers take about 45 s on a store that keeps up. */
const LATENCY_LOAD_SECONDS = Math.ceil(LATENCY_SETTLE_MS / 1000) + 60;
/** The visibility goal (p99 ≤ 2 s): events stored later than this after the trial count as lost. */
const VISIBILITY_GRACE_MS = 2_000;
const work = mkdtempSync(join(tmpdir(), "bench-"));
const root = join(__dirname, "..", "..");

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function compileSender(): string {
  const binary = join(work, "sender");
  execFileSync("gcc", ["-O2", "-o", binary, join(__dirname, "sender.c")]);
  return binary;
}

/** Datagram templates of the bench's event mix: every XXXXXXXXXXXX becomes a unique counter in the sender. */
function collectorTemplates(perDatagram: number): string {
  const t = Date.now();
  const datagrams: string[] = [];
  for (let d = 0; d < 64; d++) {
    const lines: string[] = [];
    for (let e = 0; e < perDatagram; e++) lines.push(JSON.stringify(benchEvent(d * perDatagram + e, t, "XXXXXXXXXXXX")));
    datagrams.push(lines.join("\n"));
  }
  return datagrams.join("\n%%\n");
}

function statsdTemplates(perDatagram: number): string {
  const datagrams: string[] = [];
  for (let d = 0; d < 64; d++) {
    datagrams.push(Array.from({ length: perDatagram }, (_, e) => `bench.player.heartbeat.${(d * perDatagram + e) % 64}:1|c`).join("\n"));
  }
  return datagrams.join("\n%%\n");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * The socket buffer the collector asks for: the chart's recvBufferBytes. The kernel caps it at
 * net.core.rmem_max, which the k3s nodes raise to it and a bench box may not (the header says).
 */
const COLLECTOR_RECV_BUFFER_BYTES = (
  parse(readFileSync(join(__dirname, "..", "..", "app", "chart", "values.yaml"), "utf8")) as { collector: { recvBufferBytes: number } }
).collector.recvBufferBytes;
const RECV_BUFFER_CAP_BYTES = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
let compiledCollector: string | undefined;

interface Receiver {
  readonly udpPort: number;
  /**
   * Events the receiver has counted once the trial's sending ended. The collector gets
   * VISIBILITY_GRACE_MS to store them: what its spool still holds after that is a store falling
   * behind, and counts as not stored (the spool would hide it otherwise). The collector also
   * says what it received: sent − received is what the kernel dropped, received − stored what
   * its store had not written yet.
   */
  countAfterTrial(): Promise<{ stored: number; received?: number; backlogBytes?: number }>;
  stop(): Promise<void>;
  readonly httpPort?: number;
}

let clickhouse: RunningClickHouse | undefined;

async function startCollector(store: StoreKind): Promise<Receiver> {
  const trial = Date.now();
  const [duckdbPath, spoolDir] = [join(work, `collector-${trial}.duckdb`), join(work, `spool-${trial}`)];
  const database = `bench_${trial}`;
  const collector = await spawnCollector({
    duckdbPath,
    spoolDir,
    compiled: compiledCollector,
    args: [
      ...(store === "clickhouse" ? ["--store", "clickhouse", "--clickhouse-url", clickhouse!.url, "--clickhouse-database", database] : []),
      "--recv-buffer-bytes",
      String(COLLECTOR_RECV_BUFFER_BYTES),
      // One sender stands in for many players: lift the per-source limit, nothing else.
      "--source-events-per-second",
      "100000000",
      "--source-burst",
      "100000000",
      "--log-level",
      "warn",
      ...options.collectorArgs.split(" ").filter(Boolean),
    ],
  });
  const { udpPort, httpPort, child } = collector;
  return {
    udpPort,
    httpPort,
    async countAfterTrial() {
      await sleep(VISIBILITY_GRACE_MS);
      const quality = await qualityOf(httpPort);
      // Where the shortfall is: the socket (received), the store (backlog), or both.
      log(
        `          received ${quality.received.events}  accepted ${quality.accepted}  stored ${quality.stored}  spool backlog ${(quality.spool.backlogBytes / 1e6).toFixed(1)} MB`,
      );
      return { stored: quality.stored, received: quality.received.events, backlogBytes: quality.spool.backlogBytes };
    },
    // Deleted at once: left behind, earlier trials' files (hundreds of MB by the end of a
    // sweep) were written back by the kernel during later trials, on the same two cores.
    async stop() {
      await stopChild(child);
      for (const path of [duckdbPath, `${duckdbPath}.wal`, spoolDir]) rmSync(path, { recursive: true, force: true });
      if (store === "clickhouse")
        await fetch(`${clickhouse!.url}/?query=${encodeURIComponent(`DROP DATABASE IF EXISTS ${database}`)}`, { method: "POST" });
    },
  };
}

interface Quality {
  received: { events: number };
  accepted: number;
  stored: number;
  spool: { backlogBytes: number };
}

/** The collector's own counts (/api/v1/quality's totals). */
async function qualityOf(httpPort: number): Promise<Quality> {
  return (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/quality?from=0&to=1`)).json()) as Quality;
}

async function startStatsd(): Promise<Receiver> {
  const [udpPort, managementPort] = [await freePort(), await freePort()];
  const countFile = join(work, `statsd-${udpPort}.count`);
  const config = join(work, `statsd-${udpPort}.js`);
  writeFileSync(
    config,
    `{ port: ${udpPort}, address: "127.0.0.1", mgmt_port: ${managementPort}, mgmt_address: "127.0.0.1", flushInterval: 500, deleteIdleStats: true, backends: [${JSON.stringify(join(__dirname, "statsd-count-backend.js"))}], countFile: ${JSON.stringify(countFile)} }`,
  );
  const child = spawn(process.execPath, [join(root, "node_modules", "statsd", "stats.js"), config], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  // statsd has no readiness endpoint: wait for its first flush to write the count file.
  const deadline = Date.now() + 10_000;
  while (!existsSync(countFile) && Date.now() < deadline) await sleep(100);
  return {
    udpPort,
    async countAfterTrial() {
      // statsd counts in memory: wait for its flushes to settle.
      let previous = -1;
      for (;;) {
        await sleep(700);
        const count = Number(readFileSync(countFile, "utf8"));
        if (count === previous) return { stored: count };
        previous = count;
      }
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
  });
}

interface Trial {
  /** statsd, or the collector on a store: collector-duckdb, collector-clickhouse. */
  system: string;
  perDatagram: number;
  offered: number;
  sent: number;
  stored: number;
  /** The collector's own count of events it read from the socket (statsd: not known). */
  received?: number;
  /** The collector's spool backlog when counted: written to disk, not yet stored. */
  backlogBytes?: number;
  ratio: number;
  storedPerSecond: number;
}

async function trial(sender: string, system: Trial["system"], perDatagram: number, eventsPerSecond: number): Promise<Trial> {
  const isStatsd = system === "statsd";
  const receiver = isStatsd ? await startStatsd() : await startCollector(system.replace("collector-", "") as StoreKind);
  const templates = join(work, `${system}-${perDatagram}.tpl`);
  writeFileSync(templates, isStatsd ? statsdTemplates(perDatagram) : collectorTemplates(perDatagram));
  try {
    const output = execFileSync(
      sender,
      ["127.0.0.1", String(receiver.udpPort), String(eventsPerSecond / perDatagram), String(SECONDS), templates],
      { encoding: "utf8" },
    );
    const [, datagrams, seconds] = /sent=(\d+) seconds=([\d.]+)/.exec(output)!;
    const sent = Number(datagrams) * perDatagram;
    const { stored, received, backlogBytes } = await receiver.countAfterTrial();
    const result = {
      system,
      perDatagram,
      offered: eventsPerSecond,
      sent,
      stored,
      received,
      backlogBytes,
      ratio: stored / sent,
      storedPerSecond: stored / Number(seconds),
    };
    log(
      `${system.padEnd(20)} ${perDatagram}/dgram offered ${String(eventsPerSecond).padStart(7)}/s  sent ${String(sent).padStart(8)}  stored ${String(stored).padStart(8)}  ${(result.ratio * 100).toFixed(3)} %`,
    );
    return result;
  } finally {
    await receiver.stop();
  }
}

/** Steps up the offered rate until two steps in a row miss the target. */
async function sweep(
  sender: string,
  system: Trial["system"],
  perDatagram: number,
): Promise<{ trials: Trial[]; best?: Trial; bounded: boolean }> {
  const trials: Trial[] = [];
  const steps: Array<{ passed: boolean; median: Trial }> = [];
  let misses = 0;
  const rates = [...RATES];
  for (let index = 0; index < rates.length; index++) {
    const rate = rates[index];
    const attempts: Trial[] = [];
    for (let attempt = 0; attempt < REPEATS; attempt++) attempts.push(await trial(sender, system, perDatagram, rate));
    trials.push(...attempts);
    const passes = attempts.filter((t) => t.ratio >= TARGET).length;
    const passed = 2 * passes > attempts.length;
    const median = [...attempts].sort((a, b) => a.ratio - b.ratio)[Math.floor(attempts.length / 2)];
    if (REPEATS > 1)
      log(
        `${system.padEnd(20)} ${perDatagram}/dgram offered ${String(rate).padStart(7)}/s  ${passed ? "passes" : "misses"} (${passes} of ${REPEATS})`,
      );
    steps.push({ passed, median });
    misses = passed ? 0 : misses + 1;
    if (misses >= 2) break;
    // Still passing at the list's top: step on until it misses, so the ceiling is measured rather
    // than bounded, unless the sender itself can no longer offer the rate.
    const next = rate + (rate - (rates[index - 1] ?? 0));
    const offeredFully = median.sent >= 0.97 * rate * SECONDS;
    if (index === rates.length - 1 && next <= MAX_RATE) {
      if (offeredFully) rates.push(next);
      else log(`${system}: the sender offered ${Math.round(median.sent / SECONDS)} of ${rate} events/s; the sweep ends here`);
    }
  }
  // The sustained rate: the last pass before the first miss (a lucky pass above a miss is noise).
  const firstMiss = steps.findIndex((step) => !step.passed);
  const passing = firstMiss === -1 ? steps : steps.slice(0, firstMiss);
  // No miss at all: a floor (the sender's or --max-rate's limit), not a ceiling.
  return { trials, best: passing[passing.length - 1]?.median, bounded: firstMiss === -1 };
}

interface Visibility {
  p50: number;
  p99: number;
  samples: number;
  invisible: number;
  /** Each run's own p99: the spread between runs. */
  runP99: number[];
  /**
   * Each run's five slowest markers: their place in the run, latency and when they were sent,
   * to set beside the collector's logs and metrics (a run's p99 is its second-slowest).
   */
  slowest: Array<Array<{ marker: number; ms: number; sentAt: string }>>;
  /**
   * Share of the marker phase the store spent writing (the consumer writes one batch at a time),
   * pooled over the runs, and the mean write: a write's events wait for the write before them
   * and for their own, so visibility follows these, and they say how near its ceiling this box's
   * store ran at the load.
   */
  storeBusy: number;
  meanWriteMs: number;
  /** Share of those writes that took longer than 0.5 s: the slow ones behind the p99. */
  slowWrites: number;
}

/**
 * Visibility over --repeats runs of 100 markers each, pooled: one run's p99 is its second-worst
 * marker, which on this box moved by 200 ms between runs of the same code.
 */
async function latency(sender: string, store: StoreKind, backgroundEventsPerSecond: number): Promise<Visibility> {
  const pooled: number[] = [];
  const runP99: number[] = [];
  const slowest: Visibility["slowest"] = [];
  let invisible = 0;
  const writing = { seconds: 0, writes: 0, slow: 0, wallSeconds: 0 };
  for (let run = 0; run < REPEATS; run++) {
    const result = await latencyRun(sender, store, backgroundEventsPerSecond);
    const samples = result.markers.map((marker) => marker.ms);
    slowest.push(
      [...result.markers]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5)
        .map((marker) => ({ ...marker, ms: Math.round(marker.ms) })),
    );
    pooled.push(...samples);
    writing.seconds += result.writing.seconds;
    writing.writes += result.writing.writes;
    writing.slow += result.writing.slow;
    writing.wallSeconds += result.writing.wallSeconds;
    runP99.push(
      quantile(
        [...samples].sort((a, b) => a - b),
        0.99,
      ),
    );
    invisible += result.invisible;
  }
  pooled.sort((a, b) => a - b);
  return {
    p50: quantile(pooled, 0.5),
    p99: quantile(pooled, 0.99),
    samples: pooled.length,
    invisible,
    runP99,
    slowest,
    storeBusy: writing.seconds / writing.wallSeconds,
    meanWriteMs: (1000 * writing.seconds) / writing.writes,
    slowWrites: writing.slow / writing.writes,
  };
}

/**
 * The collector's store writes so far (collector_flush_duration_seconds): their count, total
 * seconds, and how many took longer than 0.5 s (the count less the 0.5 s bucket's).
 */
async function storeWrites(httpPort: number): Promise<{ seconds: number; writes: number; slow: number }> {
  // One scrape for all three, so the bucket never counts a write the count has not.
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const writes = metricIn(text, "collector_flush_duration_seconds_count");
  return {
    seconds: metricIn(text, "collector_flush_duration_seconds_sum"),
    writes,
    slow: writes - metricIn(text, 'collector_flush_duration_seconds_bucket{le="0.5"}'),
  };
}

/** Send-to-API visibility: one marker stream at a time while a background load runs. */
async function latencyRun(
  sender: string,
  store: StoreKind,
  backgroundEventsPerSecond: number,
): Promise<{
  markers: Array<{ marker: number; ms: number; sentAt: string }>;
  invisible: number;
  writing: { seconds: number; writes: number; slow: number; wallSeconds: number };
}> {
  const receiver = await startCollector(store);
  const templates = join(work, "latency.tpl");
  writeFileSync(templates, collectorTemplates(6));
  const load = spawn(
    sender,
    ["127.0.0.1", String(receiver.udpPort), String(backgroundEventsPerSecond / 6), String(LATENCY_LOAD_SECONDS), templates],
    { stdio: "ignore" },
  );
  const socket = createSocket("udp4");
  const markers: Array<{ marker: number; ms: number; sentAt: string }> = [];
  let invisible = 0;
  let writing = { seconds: 0, writes: 0, slow: 0, wallSeconds: 0 };
  try {
    await sleep(LATENCY_SETTLE_MS);
    const [writesBefore, startedAt] = [await storeWrites(receiver.httpPort!), performance.now()];
    for (let index = 0; index < 100; index++) {
      // A marker after the load has ended would be measured on an idle store.
      if (load.exitCode !== null) {
        log(`latency on ${store}: the background load ended before marker ${index}; the run stops there`);
        break;
      }
      const region = `latency-${index}`;
      const marker = {
        v: 1,
        id: `latency-${Date.now()}-${index}`,
        type: "heartbeat",
        sid: `lat-${index}`,
        uid: "lat",
        t: Date.now(),
        seq: 1,
        region,
        device: "bench",
        pid: `lat-${index}`,
        track: "lat",
        artist: "lat",
        pos: 31000,
        listened: 31000,
        source: "other",
      };
      const sentAt = performance.now();
      socket.send(JSON.stringify(marker), receiver.udpPort, "127.0.0.1");
      for (;;) {
        const to = Date.now() + 1000;
        // The marker's own region: it is visible once the API ranks its stream.
        const top = (await (
          await fetch(`http://127.0.0.1:${receiver.httpPort}/api/v1/top?by=track&from=${to - 600_000}&to=${to}&region=${region}`)
        ).json()) as Array<{ streams: number }>;
        if (top[0]?.streams === 1) break;
        // A store this far behind is a measurement, not an error: counted as 30 s, and said.
        if (performance.now() - sentAt > 30_000) {
          invisible++;
          break;
        }
        await sleep(LATENCY_POLL_MS);
      }
      markers.push({ marker: index, ms: performance.now() - sentAt, sentAt: new Date(marker.t).toISOString() });
      if (markers.length % 25 === 0) log(`latency: ${markers.length} markers`);
      // Five markers past 30 s say enough; the rest would take minutes each.
      if (invisible >= 5) break;
    }
    const writesAfter = await storeWrites(receiver.httpPort!);
    writing = {
      seconds: writesAfter.seconds - writesBefore.seconds,
      writes: writesAfter.writes - writesBefore.writes,
      slow: writesAfter.slow - writesBefore.slow,
      wallSeconds: (performance.now() - startedAt) / 1000,
    };
  } finally {
    socket.close();
    load.kill("SIGKILL");
    await receiver.stop();
  }
  if (invisible) log(`latency on ${store}: ${invisible} markers not visible within 30 s (counted as 30 s)`);
  return { markers, invisible, writing };
}

interface SoakSample {
  at: number;
  sent: number;
  received: number;
  stored: number;
  backlogBytes: number;
}

interface Soak {
  store: StoreKind;
  rate: number;
  minutes: number;
  samples: SoakSample[];
  /** Stored ÷ sent 2 s after the last datagram (the visibility goal's grace). */
  ratio: number;
  firstMinuteStoredPerSecond: number;
  lastMinuteStoredPerSecond: number;
  maxBacklogBytes: number;
}

/**
 * A fixed rate held for minutes, not seconds: the store must keep up at the end as well as at
 * the start, as its tables grow. The sender's sent count is estimated from the rate between
 * samples and taken exactly at the end.
 */
async function soak(sender: string, store: StoreKind): Promise<Soak> {
  const receiver = await startCollector(store);
  const templates = join(work, `soak-${store}.tpl`);
  writeFileSync(templates, collectorTemplates(6));
  const seconds = SOAK_MINUTES * 60;
  const samples: SoakSample[] = [];
  try {
    const began = Date.now();
    let output = "";
    const load = spawn(sender, ["127.0.0.1", String(receiver.udpPort), String(SOAK_RATE / 6), String(seconds), templates], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    load.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const done = new Promise<void>((resolve) => load.once("exit", () => resolve()));
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      await Promise.race([sleep(10_000), done]);
      const quality = await qualityOf(receiver.httpPort!);
      const at = (Date.now() - began) / 1000;
      samples.push({
        at,
        sent: Math.round(Math.min(at, seconds) * SOAK_RATE),
        received: quality.received.events,
        stored: quality.stored,
        backlogBytes: quality.spool.backlogBytes,
      });
      log(
        `soak ${store.padEnd(10)} ${at.toFixed(0).padStart(4)} s  received ${quality.received.events}  stored ${quality.stored}  backlog ${(quality.spool.backlogBytes / 1e6).toFixed(1)} MB`,
      );
    }
    const [, datagrams] = /sent=(\d+)/.exec(output)!;
    const sent = Number(datagrams) * 6;
    await sleep(VISIBILITY_GRACE_MS);
    const final = await qualityOf(receiver.httpPort!);
    samples.push({
      at: (Date.now() - began) / 1000,
      sent,
      received: final.received.events,
      stored: final.stored,
      backlogBytes: final.spool.backlogBytes,
    });
    const rateBetween = (from: SoakSample | undefined, to: SoakSample | undefined) =>
      from && to && to.at > from.at ? (to.stored - from.stored) / (to.at - from.at) : 0;
    const within = samples.filter((sample) => sample.at <= seconds);
    const result: Soak = {
      store,
      rate: SOAK_RATE,
      minutes: SOAK_MINUTES,
      samples,
      ratio: final.stored / sent,
      firstMinuteStoredPerSecond: rateBetween(
        { at: 0, sent: 0, received: 0, stored: 0, backlogBytes: 0 },
        within.find((sample) => sample.at >= 60),
      ),
      lastMinuteStoredPerSecond: rateBetween(
        within.find((sample) => sample.at >= seconds - 70),
        within[within.length - 1],
      ),
      maxBacklogBytes: Math.max(...samples.map((sample) => sample.backlogBytes)),
    };
    log(`soak ${store}: sent ${sent}, stored ${final.stored} (${(result.ratio * 100).toFixed(3)} %) 2 s after the end`);
    return result;
  } finally {
    await receiver.stop();
  }
}

async function main(): Promise<void> {
  const sender = compileSender();
  // The collector as the image runs it: compiled by tsc into app/dist.
  compiledCollector = compileCollector();
  if (STORES.includes("clickhouse")) {
    const binary = execFileSync("sh", ["-c", "command -v clickhouse-server"], { encoding: "utf8" }).trim();
    clickhouse = await startClickHouse(binary, { nice: Number(options.clickhouseNice) });
  }
  log(
    `bench: ${SECONDS} s per trial, rates ${RATES.join(", ")} events/s, target ≥ ${TARGET * 100} % stored, stores ${STORES.join(", ")}${STORES.includes("clickhouse") ? ` (clickhouse-server at nice ${options.clickhouseNice})` : ""}, collector flags: ${options.collectorArgs || "(defaults)"}, socket buffer ${COLLECTOR_RECV_BUFFER_BYTES / 2 ** 20} MiB asked, net.core.rmem_max ${(RECV_BUFFER_CAP_BYTES / 2 ** 20).toFixed(1)} MiB`,
  );
  const results: Record<string, { trials: Trial[]; best?: Trial; bounded: boolean }> = {};
  for (const perDatagram of PACKINGS) {
    if (!options.skipStatsd) results[`statsd-${perDatagram}`] = await sweep(sender, "statsd", perDatagram);
    for (const store of STORES) results[`collector-${store}-${perDatagram}`] = await sweep(sender, `collector-${store}`, perDatagram);
  }
  const visibility: Record<string, Visibility> = {};
  if (!options.skipLatency) for (const store of STORES) visibility[store] = await latency(sender, store as StoreKind, LATENCY_LOAD);
  const soaks: Soak[] = [];
  if (SOAK_MINUTES > 0) for (const store of STORES) soaks.push(await soak(sender, store as StoreKind));

  const rows = PACKINGS.flatMap((perDatagram) =>
    STORES.map((store) => {
      const collectorSweep = results[`collector-${store}-${perDatagram}`];
      const statsdSweep = results[`statsd-${perDatagram}`];
      const collector = collectorSweep.best;
      const statsd = statsdSweep?.best;
      const atLeast = (bounded?: boolean) => (bounded ? "≥ " : "");
      const duckdb = results[`collector-duckdb-${perDatagram}`]?.best;
      // A floor on either side makes the ratio a bound, or nothing when both are floors.
      const ratioBound = collectorSweep.bounded ? (statsdSweep?.bounded ? undefined : "≥ ") : statsdSweep?.bounded ? "≤ " : "";
      const ratio = collector && statsd && ratioBound !== undefined ? ratioBound + (collector.offered / statsd.offered).toFixed(2) : "n/a";
      const vsDuckdb = store !== "duckdb" && collector && duckdb ? (collector.offered / duckdb.offered).toFixed(2) : "–";
      return `| ${perDatagram} | ${store} | ${collector ? atLeast(collectorSweep.bounded) + collector.offered : "< " + RATES[0]} | ${collector ? Math.round(collector.storedPerSecond) : "–"} | ${statsd ? atLeast(statsdSweep.bounded) + statsd.offered : options.skipStatsd ? "not run" : "< " + RATES[0]} | ${ratio} | ${vsDuckdb} |`;
    }),
  );
  const table = [
    "| events/datagram | store | collector: highest offered events/s with ≥ 99.9 % stored | collector: stored events/s there | statsd 0.9.0: same | ratio collector / statsd | ratio store / DuckDB |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    ...STORES.filter((store) => visibility[store]).map(
      (store) =>
        `Visibility on ${store} (send → in the API) with a background load of ${LATENCY_LOAD} events/s (6 per datagram, ${LATENCY_LOAD_SECONDS} s; markers from ${LATENCY_SETTLE_MS / 1000} s into it), ${visibility[store].samples} markers in ${visibility[store].runP99.length} runs: p50 ${visibility[store].p50.toFixed(0)} ms, p99 ${visibility[store].p99.toFixed(0)} ms (runs' own p99: ${visibility[store].runP99.map((p) => p.toFixed(0)).join(", ")} ms); the store wrote ${(100 * visibility[store].storeBusy).toFixed(0)} % of the time, ${visibility[store].meanWriteMs.toFixed(0)} ms a write, ${(100 * visibility[store].slowWrites).toFixed(1)} % of writes over 0.5 s${visibility[store].invisible ? ` (${visibility[store].invisible} not visible within 30 s)` : ""}.`,
    ),
    ...(soaks.length
      ? [
          "",
          `| soak: store | offered events/s (6/dgram), minutes | stored 2 s after the end | stored events/s, first minute | stored events/s, last minute | largest spool backlog |`,
          "| --- | --- | --- | --- | --- | --- |",
          ...soaks.map(
            (s) =>
              `| ${s.store} | ${s.rate}, ${s.minutes} | ${(s.ratio * 100).toFixed(3)} % | ${Math.round(s.firstMinuteStoredPerSecond)} | ${Math.round(s.lastMinuteStoredPerSecond)} | ${(s.maxBacklogBytes / 1e6).toFixed(1)} MB |`,
          ),
        ]
      : []),
  ].join("\n");
  log(`\n${table}\n`);

  mkdirSync(options.out, { recursive: true });
  const series: Series[] = Object.entries(results).map(([name, { trials }]) => ({
    name,
    points: trials.map((t) => [t.offered, t.ratio * 100] as [number, number]),
  }));
  writeFileSync(
    join(options.out, "stored-vs-offered.svg"),
    renderChart({
      title: "Stored % against offered rate (loopback, 2 cores)",
      xLabel: "offered events/s",
      yLabel: "stored %",
      series,
      yMin: 50,
      yMax: 100,
    }),
  );
  writeFileSync(
    join(options.out, "results.json"),
    JSON.stringify(
      {
        when: new Date().toISOString(),
        seconds: SECONDS,
        stores: STORES,
        clickhouseNice: Number(options.clickhouseNice),
        recvBufferBytes: COLLECTOR_RECV_BUFFER_BYTES,
        recvBufferCapBytes: RECV_BUFFER_CAP_BYTES,
        results,
        latencySettleMs: LATENCY_SETTLE_MS,
        visibility,
        soaks,
      },
      null,
      2,
    ),
  );
  writeFileSync(join(options.out, "results.md"), `${table}\n`);
  log(`bench: wrote ${join(options.out, "stored-vs-offered.svg")}, results.json and results.md`);
  await clickhouse?.stop();
  rmSync(work, { recursive: true, force: true });
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.stack}\n`);
  process.exit(1);
});
