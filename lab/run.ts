import { Command } from "commander";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Collector } from "../app/src/collector";
import { parseCollectorConfig } from "../app/src/config";
import { ListenerSimulator } from "./simulator";

const number = (name: string, min: number, max: number) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max)
    throw new Error(`--${name} "${value}" must be a number from ${min} to ${max}`);
  return parsed;
};

const program = new Command()
  .name("lab")
  .description("the whole pipeline on one machine: collector on DuckDB plus simulated listeners")
  .option("--listeners <n>", "simulated listeners", number("listeners", 1, 100_000), 300)
  .option("--speed <x>", "simulated seconds per real second", number("speed", 0.1, 1000), 5)
  .option("--loss <share>", "datagrams dropped", number("loss", 0, 0.99), 0.01)
  .option("--duplication <share>", "datagrams sent twice", number("duplication", 0, 0.99), 0.005)
  .option("--reorder <share>", "datagrams held back behind the next", number("reorder", 0, 0.99), 0.01)
  .option("--seed <n>", "simulation seed", number("seed", 0, 2 ** 32), 1)
  .option("--udp-port <port>", "collector UDP port (0 picks a free one)", number("udp-port", 0, 65535), 8125)
  .option("--http-port <port>", "dashboard and API port (0 picks a free one)", number("http-port", 0, 65535), 8080)
  .option("--data-dir <dir>", "where the lab's DuckDB file goes (replaced each run)", ".lab")
  .option("--duration <seconds>", "stop after this long (default: until Ctrl-C)", number("duration", 1, 86_400))
  .parse();

async function main(): Promise<void> {
  const options = program.opts<{
    listeners: number;
    speed: number;
    loss: number;
    duplication: number;
    reorder: number;
    seed: number;
    udpPort: number;
    httpPort: number;
    dataDir: string;
    duration?: number;
  }>();
  mkdirSync(options.dataDir, { recursive: true });
  const duckdbPath = join(options.dataDir, "lab.duckdb");
  rmSync(duckdbPath, { force: true });
  rmSync(`${duckdbPath}.wal`, { force: true });
  const spoolDir = join(options.dataDir, "spool");
  rmSync(spoolDir, { recursive: true, force: true });
  const collector = await Collector.create(
    parseCollectorConfig({
      udpPort: options.udpPort,
      udpHosts: "127.0.0.1",
      httpPort: options.httpPort,
      httpHost: "127.0.0.1",
      duckdbPath,
      spoolDir,
      logLevel: "warn",
      // The simulator is one source standing in for every listener.
      sourceEventsPerSecond: 10_000_000,
      sourceBurst: 10_000_000,
      sourceMaxSessions: 10_000_000,
    }),
  );
  await collector.start();
  const simulator = new ListenerSimulator({
    host: "127.0.0.1",
    port: collector.udpPort,
    listeners: options.listeners,
    speed: options.speed,
    loss: options.loss,
    duplication: options.duplication,
    reorder: options.reorder,
    seed: options.seed,
  });
  simulator.start();
  const url = `http://127.0.0.1:${collector.httpPort}/`;
  process.stdout.write(`lab: collector on udp://127.0.0.1:${collector.udpPort}, DuckDB at ${duckdbPath}\n`);
  process.stdout.write(`lab: dashboard ${url}\n`);

  const progress = setInterval(async () => {
    try {
      const to = Date.now();
      const summary = await collector.store.insights.summary({ from: to - 3_600_000, to });
      const concurrent = await collector.store.insights.concurrentListeners(to);
      const s = collector.stats;
      const rejected = Object.values(s.rejectedEvents).reduce((sum, n) => sum + n, 0);
      process.stdout.write(
        `lab: sent ${simulator.counts.events} events in ${simulator.counts.datagrams} datagrams (dropped ${simulator.counts.dropped}) · ` +
          `accepted ${s.accepted} · stored ${s.storedEvents} · rejected ${rejected} · streams ${summary.streams} · concurrent ${concurrent}\n`,
      );
    } catch (error) {
      process.stdout.write(`lab: progress failed: ${(error as Error).message}\n`);
    }
  }, 2_000);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(progress);
    await simulator.stop();
    await collector.stop();
    process.stdout.write("lab: stopped\n");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  if (options.duration) setTimeout(() => void stop(), options.duration * 1000);
}

main().catch((error: Error) => {
  process.stderr.write(`lab: ${error.message}\n`);
  process.exit(2);
});
