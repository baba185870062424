#!/usr/bin/env node
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { UdpEventClient } from "../client/udp-client";
import { Collector } from "../collector";
import { configFromEnvironment, parseCollectorConfig, type CollectorConfigInput } from "../config";
import { validateEvent } from "../protocol/decode";
import type { PlaybackEvent } from "../protocol/event";

const program = new Command().name("collector").description("UDP collector for playback events");

program
  .command("serve")
  .description("receive events over UDP, store them and serve insights over HTTP (flags override COLLECTOR_* variables)")
  .option("--udp-port <port>", "UDP port (COLLECTOR_UDP_PORT)")
  .option("--udp-hosts <list>", "comma-separated bind addresses (COLLECTOR_UDP_HOSTS)")
  .option("--recv-buffer-bytes <bytes>", "requested socket receive buffer (COLLECTOR_RECV_BUFFER_BYTES)")
  .option("--udp-receiver <kind>", "recvmmsg (native, Linux; default) or dgram (Node's own) (COLLECTOR_UDP_RECEIVER)")
  .option("--decoder <kind>", "native (plain lines validated in C; default) or js (JSON.parse for every line) (COLLECTOR_DECODER)")
  .option("--store-nice <n>", "nice value 0..19 of the store's threads; 0 keeps them at receive priority (COLLECTOR_STORE_NICE)")
  .option(
    "--malloc-retain-megabytes <n>",
    "freed heap kept for reuse by large allocations, default 256; 0 keeps glibc's defaults (COLLECTOR_MALLOC_RETAIN_MEGABYTES)",
  )
  .option("--max-datagram-bytes <bytes>", "largest datagram accepted, ≤ 65507 (COLLECTOR_MAX_DATAGRAM_BYTES)")
  .option("--max-skew-ms <ms>", "largest client clock skew accepted (COLLECTOR_MAX_SKEW_MS)")
  .option("--dedupe-window-ms <ms>", "how long event ids are remembered (COLLECTOR_DEDUPE_WINDOW_MS)")
  .option("--dedupe-max-entries <n>", "most ids remembered, ≤ 67108864; about 16 bytes each, allocated up front (COLLECTOR_DEDUPE_MAX_ENTRIES)")
  .option("--batch-size <n>", "events per store write (COLLECTOR_BATCH_SIZE)")
  .option("--flush-interval-ms <ms>", "longest wait before a write (COLLECTOR_FLUSH_INTERVAL_MS)")
  .option("--store-retry-base-ms <ms>", "first wait after a failed store write, doubling to 30 s (COLLECTOR_STORE_RETRY_BASE_MS)")
  .option("--spool-dir <dir>", "where accepted events are spooled before the store (COLLECTOR_SPOOL_DIR)")
  .option("--spool-max-bytes <bytes>", "spool bound on disk; full refuses new events as overload (COLLECTOR_SPOOL_MAX_BYTES)")
  .option("--spool-segment-bytes <bytes>", "spool segment file size (COLLECTOR_SPOOL_SEGMENT_BYTES)")
  .option("--spool-fsync-interval-ms <ms>", "fdatasync interval, 0 for rotation/close only (COLLECTOR_SPOOL_FSYNC_INTERVAL_MS)")
  .option("--spool-ready-max-ratio <ratio>", "spool fill at which /readyz turns not ready (COLLECTOR_SPOOL_READY_MAX_RATIO)")
  .option("--source-events-per-second <n>", "sustained events/s per source address (COLLECTOR_SOURCE_EVENTS_PER_SECOND)")
  .option("--source-burst <n>", "burst per source address (COLLECTOR_SOURCE_BURST)")
  .option("--source-max-sessions <n>", "new sessions per source per minute (COLLECTOR_SOURCE_MAX_SESSIONS)")
  .option("--max-sources <n>", "source addresses tracked at once (COLLECTOR_MAX_SOURCES)")
  .option("--http-port <port>", "HTTP port (COLLECTOR_HTTP_PORT)")
  .option("--http-host <host>", "HTTP bind address (COLLECTOR_HTTP_HOST)")
  .option("--store <kind>", "duckdb or clickhouse (COLLECTOR_STORE)")
  .option("--duckdb-path <path>", "DuckDB file, or :memory: (COLLECTOR_DUCKDB_PATH)")
  .option("--duckdb-threads <n>", "DuckDB worker threads, default 1 (COLLECTOR_DUCKDB_THREADS)")
  .option(
    "--duckdb-checkpoint-megabytes <n>",
    "WAL size in MiB that triggers a checkpoint, default 32 (COLLECTOR_DUCKDB_CHECKPOINT_MEGABYTES)",
  )
  .option("--clickhouse-url <url>", "ClickHouse HTTP endpoint (COLLECTOR_CLICKHOUSE_URL)")
  .option("--clickhouse-database <name>", "ClickHouse database (COLLECTOR_CLICKHOUSE_DATABASE)")
  .option("--clickhouse-user <name>", "ClickHouse user (COLLECTOR_CLICKHOUSE_USER); the password only from COLLECTOR_CLICKHOUSE_PASSWORD")
  .option("--clickhouse-cluster <name>", "ClickHouse cluster for replicated tables (COLLECTOR_CLICKHOUSE_CLUSTER)")
  .option("--shutdown-timeout-ms <ms>", "drain bound on SIGTERM (COLLECTOR_SHUTDOWN_TIMEOUT_MS)")
  .option("--log-level <level>", "pino level (COLLECTOR_LOG_LEVEL)")
  .action(async (flags: Record<string, string>) => {
    let collector: Collector;
    try {
      const config = parseCollectorConfig({ ...configFromEnvironment(), ...flags } as CollectorConfigInput);
      collector = await Collector.create(config);
      await collector.start();
    } catch (error) {
      process.stderr.write(`collector: ${(error as Error).message}\n`);
      process.exit(2);
    }
    collector.log.info({ http: collector.httpPort, udp: collector.udpPort }, "collector running");
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      collector.log.info({ signal }, "stopping: intake closed, draining the spool into the store");
      const drained = await collector.stop();
      process.exit(drained ? 0 : 1);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  });

program
  .command("send")
  .description("send events from a newline-delimited JSON file (for manual testing)")
  .requiredOption("--file <path>", "events, one JSON object per line")
  .option("--host <host>", "collector address", "127.0.0.1")
  .option("--port <port>", "collector UDP port", "8125")
  .option("--stamp", "set each event's t to now (keeps old files inside the skew window)")
  .action(async (options: { file: string; host: string; port: string; stamp?: boolean }) => {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      process.stderr.write(`collector send: --port "${options.port}" is not a port number\n`);
      process.exit(2);
    }
    const events: PlaybackEvent[] = [];
    readFileSync(options.file, "utf8")
      .split("\n")
      .forEach((line, index) => {
        if (!line.trim()) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw new Error(`${options.file}:${index + 1}: not valid JSON`);
        }
        const result = validateEvent(options.stamp ? { ...(parsed as object), t: Date.now() } : parsed);
        if (!result.ok) throw new Error(`${options.file}:${index + 1}: ${result.reason}: ${result.detail}`);
        events.push(result.event);
      });
    const client = new UdpEventClient({ host: options.host, port });
    const datagrams = await client.send(events);
    await client.close();
    process.stdout.write(`sent ${events.length} events in ${datagrams} datagrams to ${options.host}:${port}\n`);
  });

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`collector: ${error.message}\n`);
  process.exit(2);
});
