import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import type { CollectorConfig } from "./config";
import { createHttpServer } from "./http/server";
import { createMetrics, type CollectorMetrics } from "./metrics";
import { DedupeWindow } from "./pipeline/dedupe-window";
import { IngestPipeline } from "./pipeline/ingest";
import { IngestStats } from "./pipeline/ingest-stats";
import { SourceLimiter } from "./pipeline/source-limiter";
import { SpoolIntake } from "./pipeline/spool-intake";
import { retainFreedMemory } from "./process-memory";
import { datagramDecoder } from "./protocol/native-decode";
import { parseSigningKeys } from "./protocol/signing";
import { UdpSource } from "./source/udp-source";
import { lowerThreadPoolPriority } from "./store/store-priority";
import { SpoolConsumer, type SpoolConsumerEvents } from "./spool/spool-consumer";
import { SpoolReader } from "./spool/spool-reader";
import { FLUSH_UP_TO, SYNCED_END, SpoolWriter, type SpoolStatus } from "./spool/spool-writer";
import { committingSinkFor } from "./store/lines";
import type { Store } from "./store/store";
import { ThreadedStore, type ConsumeOptions } from "./store/threaded-store";

const LOSS_REFRESH_MS = 10_000;

/** Starts the spool consumer beside the store (its thread, or this one) and returns how to stop it. */
type StartConsumer = (options: ConsumeOptions, shared: Float64Array, events: SpoolConsumerEvents) => Promise<() => Promise<void>>;

/**
 * The collector's topology, wired once: UDP source → decode/validate → dedupe → spool (disk) →
 * consumer → store, with insights and metrics over HTTP. Data flows one way; the store is
 * swappable, and an event counts as accepted only once it is in the spool.
 */
export class Collector {
  readonly stats = new IngestStats();
  readonly source: UdpSource;
  readonly http: FastifyInstance;
  readonly metrics: CollectorMetrics;
  private readonly intake: SpoolIntake;
  private readonly dedupe: DedupeWindow;
  private readonly limiter: SourceLimiter;
  private committed: number;
  private stopConsumer?: () => Promise<void>;
  private started = false;
  private lossTimer?: NodeJS.Timeout;

  private constructor(
    readonly config: CollectorConfig,
    readonly store: Store,
    private readonly spool: SpoolWriter,
    private readonly startConsumer: StartConsumer,
    readonly log: Logger,
  ) {
    this.committed = spool.start;
    if (store instanceof ThreadedStore)
      store.onFailure((error) =>
        log.error({ err: error }, "store thread ended: nothing more is stored until a restart; /healthz now fails"),
      );
    this.dedupe = new DedupeWindow({ windowMs: config.dedupeWindowMs, maxEntries: config.dedupeMaxEntries }, Date.now());
    this.intake = new SpoolIntake(spool, this.stats, log, (high, low) => this.dedupe.forgetFingerprint(high, low));
    const auth = config.authKeys
      ? {
          keys: parseSigningKeys(config.authKeys),
          maxAgeMs: config.authMaxAgeMs,
          // Seen MACs, remembered for twice the freshness window and bounded like the dedupe table.
          replays: new DedupeWindow({ windowMs: 2 * config.authMaxAgeMs, maxEntries: config.dedupeMaxEntries }, Date.now()),
        }
      : undefined;
    this.limiter = new SourceLimiter({
      eventsPerSecond: config.sourceEventsPerSecond,
      burst: config.sourceBurst,
      maxSessionsPerSource: config.sourceMaxSessions,
      maxSources: config.maxSources,
    });
    const pipeline = new IngestPipeline(this.stats, this.dedupe, this.intake, {
      maxDatagramBytes: config.maxDatagramBytes,
      maxSkewMs: config.maxSkewMs,
      auth,
      limiter: this.limiter,
      decoder: datagramDecoder(config.decoder),
    });
    this.source = new UdpSource(
      {
        hosts: config.udpHosts,
        port: config.udpPort,
        recvBufferBytes: config.recvBufferBytes,
        receiver: config.udpReceiver,
        maxDatagramBytes: config.maxDatagramBytes,
      },
      (payload, start, end, source) => pipeline.handleDatagram(payload, source, start, end),
      log,
    );
    this.metrics = createMetrics(
      this.stats,
      () => this.spoolStatus,
      () => ({
        dedupeEntries: this.dedupe.size,
        dedupeMaxEntries: config.dedupeMaxEntries,
        dedupeEvictions: this.dedupe.evictions,
        sources: this.limiter.size,
        maxSources: config.maxSources,
        sourceEvictions: this.limiter.evictions,
      }),
    );
    this.http = createHttpServer({
      store,
      stats: this.stats,
      metrics: this.metrics,
      readiness: () => this.readiness(),
      liveness: () => this.liveness(),
      spool: () => this.spoolStatus,
      log,
      apiToken: config.apiToken,
    });
  }

  /**
   * Opens the spool (recovering a torn tail) and the store. By default the store and the spool
   * consumer run on their own thread (ThreadedStore); a store passed in (tests, other stores)
   * is written from this thread.
   */
  static async create(config: CollectorConfig, options: { store?: Store; log?: Logger } = {}): Promise<Collector> {
    const log = options.log ?? pino({ level: config.logLevel, base: { service: "collector" } });
    const spool = SpoolWriter.open({
      dir: config.spoolDir,
      maxBytes: config.spoolMaxBytes,
      segmentBytes: config.spoolSegmentBytes,
      fsyncIntervalMs: config.spoolFsyncIntervalMs,
    });
    if (spool.tornTail)
      log.warn({ tornRecord: spool.tornTail }, "spool: cut a torn record off the newest segment (a write interrupted by a crash)");
    const injected = options.store;
    if (injected) {
      const startHere: StartConsumer = async (consumeOptions, shared, events) => {
        const reader = new SpoolReader(consumeOptions.dir);
        const consumer = new SpoolConsumer(
          reader,
          committingSinkFor(injected),
          { ...consumeOptions, writtenEnd: () => shared[SYNCED_END], flushUpTo: () => shared[FLUSH_UP_TO] },
          events,
        );
        consumer.start();
        return async () => {
          await consumer.stop();
          reader.close();
        };
      };
      return new Collector(config, injected, spool, startHere, log);
    }
    if (config.storeNice > 0) await lowerThreadPoolPriority(config.storeNice, log);
    if (config.mallocRetainMegabytes > 0) retainFreedMemory(config.mallocRetainMegabytes, log);
    const store = new ThreadedStore({
      ...(config.store === "clickhouse"
        ? {
            kind: "clickhouse",
            url: config.clickhouseUrl!,
            database: config.clickhouseDatabase,
            username: config.clickhouseUser,
            password: config.clickhousePassword,
            cluster: config.clickhouseCluster,
          }
        : {
            kind: "duckdb",
            path: config.duckdbPath,
            threads: config.duckdbThreads,
            checkpointMegabytes: config.duckdbCheckpointMegabytes,
          }),
      nice: config.storeNice,
    });
    const startOnStoreThread: StartConsumer = async (consumeOptions, shared, events) => {
      await store.consume(consumeOptions, shared, events);
      return () => store.stopConsuming();
    };
    return new Collector(config, store, spool, startOnStoreThread, log);
  }

  async start(): Promise<void> {
    // One attempt here so the API has its tables at once; the consumer retries until the store is there.
    try {
      const version = await this.store.migrate();
      this.log.info({ store: this.store.kind, schemaVersion: version }, "store ready");
    } catch (error) {
      this.log.error({ err: error, store: this.store.kind }, "store unavailable at start; events are spooled until it returns");
    }
    this.stopConsumer = await this.startConsumer(
      {
        dir: this.config.spoolDir,
        spoolId: this.spool.spoolId,
        batchSize: this.config.batchSize,
        flushIntervalMs: this.config.flushIntervalMs,
        retryBaseMs: this.config.storeRetryBaseMs,
      },
      this.spool.shared,
      {
        onReady: (committed) => {
          this.advance(committed);
          this.log.info(
            { committed, backlogBytes: this.spool.end - this.committed },
            "spool consumer ready; replaying what the store lacks",
          );
        },
        onCommit: (to, lines, seconds) => {
          this.advance(to);
          this.stats.storedEvents += lines;
          this.metrics.flushSeconds.observe(seconds);
        },
        onError: (error, failures) => {
          this.stats.storeErrors++;
          this.log.error(
            { err: error, failures, backlogBytes: this.spool.end - this.committed },
            "store write failed; the batch stays in the spool and is retried",
          );
        },
        onCorrupt: (position, reason) => {
          this.stats.spoolCorruptRecords++;
          this.log.error({ position, reason }, "spool: skipped a record that failed its checksum");
        },
      },
    );
    await this.source.start();
    await this.http.listen({ port: this.config.httpPort, host: this.config.httpHost });
    this.lossTimer = setInterval(() => void this.refreshLossGauge(), LOSS_REFRESH_MS);
    this.lossTimer.unref();
    this.started = true;
  }

  private advance(committed: number): void {
    if (committed > this.spool.end) {
      // Only after a host crash with spoolFsyncIntervalMs 0: the disk lost records the store has.
      this.log.error({ committed, spoolEnd: this.spool.end }, "the store holds more of this spool than the disk; continuing after it");
      this.spool.skipTo(committed);
    }
    this.committed = Math.max(this.committed, committed);
    this.spool.release(this.committed);
  }

  get spoolStatus(): SpoolStatus {
    return {
      diskBytes: this.spool.diskBytes,
      maxBytes: this.config.spoolMaxBytes,
      backlogBytes: Math.max(0, this.spool.end - this.committed),
      segments: this.spool.segmentCount,
    };
  }

  /** A store thread that ended stores nothing more: a restart is the remedy, so liveness fails. */
  private liveness(): { alive: boolean; reason?: string } {
    const failure = this.store instanceof ThreadedStore ? this.store.failure : undefined;
    return failure ? { alive: false, reason: `store thread ended: ${failure.message}` } : { alive: true };
  }

  private readiness(): { ready: boolean; reason?: string } {
    const { alive, reason } = this.liveness();
    if (!alive) return { ready: false, reason };
    if (!this.started) return { ready: false, reason: "starting or stopping" };
    const fill = this.spool.diskBytes / this.config.spoolMaxBytes;
    if (fill >= this.config.spoolReadyMaxRatio) return { ready: false, reason: `spool ${(fill * 100).toFixed(1)}% full` };
    return { ready: true };
  }

  /** The HTTP port actually bound (useful with port 0). */
  get httpPort(): number {
    const address = this.http.server.address();
    return typeof address === "object" && address ? address.port : this.config.httpPort;
  }

  get udpPort(): number {
    return this.source.port;
  }

  /** Waits until everything accepted so far is in the store (or the deadline passes). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    this.intake.flush();
    this.spool.requestFlush();
    const deadline = Date.now() + timeoutMs;
    while (this.committed < this.spool.end && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.committed >= this.spool.end;
  }

  private async refreshLossGauge(): Promise<void> {
    try {
      const to = Date.now();
      for (const region of await this.store.qualityByRegion({ from: to - 15 * 60_000, to })) {
        this.metrics.estimatedLoss.set({ region: region.region }, region.lossPercent / 100);
      }
    } catch (error) {
      this.log.warn({ err: error }, "could not refresh the loss estimate");
    }
  }

  /**
   * Stops intake, drains the spool into the store and closes, within shutdownTimeoutMs. What
   * the store did not take in time stays in the spool for the next start.
   */
  async stop(): Promise<boolean> {
    this.started = false;
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    // Part of the bound is kept for closing the store in order: exiting while DuckDB is still
    // writing on its thread aborts the process.
    const drainDeadline = deadline - Math.min(2_000, Math.floor(this.config.shutdownTimeoutMs / 4));
    if (this.lossTimer) clearInterval(this.lossTimer);
    await this.source.stop();
    const drained = await this.flush(Math.max(0, drainDeadline - Date.now()));
    if (!drained)
      this.log.error(
        { backlogBytes: this.spool.end - this.committed },
        "shutdown deadline passed; the rest stays in the spool for the next start",
      );
    // The final account, for operators and for the shutdown test.
    this.log.info({ accepted: this.stats.accepted, stored: this.stats.storedEvents, drained }, "stopped");
    const remaining = () => new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref());
    if (this.stopConsumer) await Promise.race([this.stopConsumer(), remaining()]);
    this.spool.close();
    await this.http.close();
    const closed = this.store.close().catch((error: Error) => this.log.error({ err: error }, "closing the store failed"));
    await Promise.race([closed, remaining()]);
    return drained;
  }
}
