import { mkdirSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import type { CollectorConfig } from "./config";
import { LossEstimateJob } from "./http/loss-estimate";
import { createHttpServer } from "./http/server";
import { createMetrics, type CollectorMetrics } from "./metrics";
import { retainFreedMemory } from "./process-memory";
import { udpReceiveDrops } from "./source/socket-drops";
import { readOrCreateSpoolId } from "./spool/segments";
import { SpoolWriter, type SpoolStatus } from "./spool/spool-writer";
import type { Store } from "./store/store";
import { storeHandleFor, type StoreHandle } from "./store/store-handle";
import { StoreThread } from "./store/store-thread";
import { lowerThreadPoolPriority } from "./store/thread-priority";
import { processCounters, type ProcessCounters } from "./telemetry";
import { buildIngestTopology, type IngestTopology } from "./topology";

/**
 * The collector, wired once: the ingest topology (UDP source → decode → admission → spool) on
 * this thread, the spool consumer and the store on the store thread, and insights, metrics and
 * health over HTTP. Data flows one way; an event counts as accepted only once it is in the spool.
 * See docs/collector/architecture.md.
 */
export class Collector {
  readonly http: FastifyInstance;
  readonly metrics: CollectorMetrics;
  private readonly ingest: IngestTopology;
  private readonly lossEstimate: LossEstimateJob;
  private started = false;

  private constructor(
    readonly config: CollectorConfig,
    /** The store's handle: its sink (the consumer), its insights and its health. */
    readonly store: StoreHandle,
    private readonly spool: SpoolWriter,
    readonly log: Logger,
  ) {
    store.onFailure((error) => log.error({ err: error }, "store thread ended: nothing more is stored until a restart; /healthz now fails"));
    this.ingest = buildIngestTopology(config, spool, store.telemetry, log);
    this.metrics = createMetrics({
      counters: () => this.stats,
      spool: () => this.spoolStatus,
      tables: () => this.ingest.tables(),
      kernelDrops: () => udpReceiveDrops(this.udpPort),
      health: () => ({ ready: this.readiness().ready, storeAlive: this.liveness().alive }),
    });
    this.lossEstimate = new LossEstimateJob(
      store.insights,
      { loss: this.metrics.estimatedLoss, updated: this.metrics.estimatedLossUpdated },
      log,
    );
    this.http = createHttpServer({
      insights: store.insights,
      counters: () => this.stats,
      metrics: this.metrics,
      readiness: () => this.readiness(),
      liveness: () => this.liveness(),
      spool: () => this.spoolStatus,
      log,
      apiToken: config.apiToken,
    });
  }

  /**
   * Opens the store and the spool (recovering a torn tail). By default the store and the spool
   * consumer run on their own thread (StoreThread); a store passed in (tests, other stores) is
   * written from this thread.
   */
  static async create(config: CollectorConfig, options: { store?: Store | StoreHandle; log?: Logger } = {}): Promise<Collector> {
    const log = options.log ?? pino({ level: config.logLevel, base: { service: "collector" } });
    let store: StoreHandle;
    if (options.store) store = storeHandleFor(options.store);
    else {
      if (config.storeNice > 0) await lowerThreadPoolPriority(config.storeNice, log);
      if (config.mallocRetainMegabytes > 0) retainFreedMemory(config.mallocRetainMegabytes, log);
      store = new StoreThread({
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
              rowGroupSize: config.duckdbRowGroupSize,
              memoryLimitMegabytes: config.duckdbMemoryLimitMegabytes,
              knownStreams: config.duckdbKnownStreams,
              allocatorDecayMs: config.duckdbAllocatorDecayMs === "duckdb" ? undefined : config.duckdbAllocatorDecayMs,
            }),
        nice: config.storeNice,
      });
    }
    const spool = SpoolWriter.open({
      dir: config.spoolDir,
      maxBytes: config.spoolMaxBytes,
      segmentBytes: config.spoolSegmentBytes,
      fsyncIntervalMs: config.spoolFsyncIntervalMs,
      storedUpTo: config.spoolFsyncIntervalMs === 0 ? await storedPosition(store, config.spoolDir, log) : undefined,
    });
    if (spool.tornTail)
      log.warn({ tornRecord: spool.tornTail }, "spool: cut a torn record off the newest segment (a write interrupted by a crash)");
    return new Collector(config, store, spool, log);
  }

  async start(): Promise<void> {
    // One attempt here so the API has its tables at once; the consumer retries until the store is there.
    try {
      const version = await this.store.migrate();
      this.log.info({ store: this.store.kind, schemaVersion: version }, "store ready");
    } catch (error) {
      this.log.error({ err: error, store: this.store.kind }, "store unavailable at start; events are spooled until it returns");
    }
    const ledger = this.spool.ledger;
    // A store thread that already ended fails this; /healthz reports it and intake still spools.
    await this.store
      .startConsuming(
        {
          dir: this.config.spoolDir,
          spoolId: this.spool.spoolId,
          batchSize: this.config.batchSize,
          flushIntervalMs: this.config.flushIntervalMs,
          retryBaseMs: this.config.storeRetryBaseMs,
        },
        ledger,
        {
          onReady: (committed) =>
            this.log.info({ committed, backlogBytes: ledger.written - committed }, "spool consumer ready; replaying what the store lacks"),
          onCommit: (_to, _lines, seconds) => this.metrics.flushSeconds.observe(seconds),
          onError: (error, failures) =>
            this.log.error(
              { err: error, failures, backlogBytes: ledger.backlogBytes },
              "store write failed; the batch stays in the spool and is retried",
            ),
          onCorrupt: (position, reason) => this.log.error({ position, reason }, "spool: skipped a record that failed its checksum"),
        },
      )
      .catch((error: Error) => this.log.error({ err: error }, "the spool consumer could not start; nothing is stored until a restart"));
    await this.ingest.source.start();
    await this.http.listen({ port: this.config.httpPort, host: this.config.httpHost });
    this.lossEstimate.start();
    this.started = true;
  }

  /** The process's counters, summed from the stages' own (a snapshot). */
  get stats(): ProcessCounters {
    return processCounters(this.ingest.telemetry);
  }

  get spoolStatus(): SpoolStatus {
    return this.spool.status();
  }

  /** A store thread that ended stores nothing more: a restart is the remedy, so liveness fails. */
  private liveness(): { alive: boolean; reason?: string } {
    const failure = this.store.failure;
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
    return this.ingest.source.port;
  }

  /** Waits until everything accepted so far is in the store (or the deadline passes). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    this.ingest.admission.endTurn();
    this.spool.requestFlush();
    const ledger = this.spool.ledger;
    const deadline = Date.now() + timeoutMs;
    while (ledger.committed < ledger.written && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return ledger.committed >= ledger.written;
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
    this.lossEstimate.stop();
    await this.ingest.source.stop();
    const drained = await this.flush(Math.max(0, drainDeadline - Date.now()));
    if (!drained)
      this.log.error(
        { backlogBytes: this.spool.ledger.backlogBytes },
        "shutdown deadline passed; the rest stays in the spool for the next start",
      );
    // The final account, for operators and for the shutdown test.
    const { accepted, storedEvents } = this.stats;
    this.log.info({ accepted, stored: storedEvents, drained }, "stopped");
    const remaining = () => new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref());
    // A store thread that ended has no consumer left to stop.
    const consumerStopped = this.store.stopConsuming().catch(() => undefined);
    await Promise.race([consumerStopped, remaining()]);
    this.spool.close();
    await this.http.close();
    const closed = this.store.close().catch((error: Error) => this.log.error({ err: error }, "closing the store failed"));
    await Promise.race([closed, remaining()]);
    return drained;
  }
}

/**
 * With spoolFsyncIntervalMs 0 a host crash can cut the spool below what the store holds (see
 * SpoolWriter's storedUpTo), so the spool opens only once the store has said where it got to.
 */
async function storedPosition(store: StoreHandle, dir: string, log: Logger): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const spoolId = readOrCreateSpoolId(dir);
  for (let attempt = 1; ; attempt++) {
    try {
      await store.migrate();
      return await store.committedPosition(spoolId);
    } catch (error) {
      log.error({ err: error, attempt }, "spool fsync is off: waiting for the store's position before accepting events");
      if (store.failure) throw store.failure;
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 200 * 2 ** Math.min(attempt, 8))));
    }
  }
}
