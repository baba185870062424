import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import type { CollectorConfig } from "./config";
import { createHttpServer } from "./http/server";
import { createMetrics, type CollectorMetrics } from "./metrics";
import { Batcher, type BatchSink } from "./pipeline/batcher";
import { DedupeWindow } from "./pipeline/dedupe-window";
import { IngestPipeline } from "./pipeline/ingest";
import { IngestStats } from "./pipeline/ingest-stats";
import { SourceLimiter } from "./pipeline/source-limiter";
import { parseSigningKeys } from "./protocol/signing";
import { UdpSource } from "./source/udp-source";
import { lineSinkFor } from "./store/lines";
import type { Store } from "./store/store";
import { ThreadedStore } from "./store/threaded-store";

const LOSS_REFRESH_MS = 10_000;

/**
 * The collector's topology, wired once: UDP source → decode/validate → dedupe → batcher →
 * store, with insights and metrics over HTTP. Data flows one way; the store is swappable.
 */
export class Collector {
  readonly stats = new IngestStats();
  readonly source: UdpSource;
  readonly http: FastifyInstance;
  readonly metrics: CollectorMetrics;
  private readonly batcher: Batcher<string>;
  private readonly dedupe: DedupeWindow;
  private readonly limiter: SourceLimiter;
  private ready = false;
  private lossTimer?: NodeJS.Timeout;

  private constructor(
    readonly config: CollectorConfig,
    readonly store: Store,
    sink: BatchSink<string>,
    readonly log: Logger,
  ) {
    this.batcher = new Batcher(
      sink,
      { batchSize: config.batchSize, flushIntervalMs: config.flushIntervalMs, maxQueue: config.maxQueue },
      {
        onFlush: (events, seconds) => {
          this.stats.storedEvents += events;
          this.metrics.flushSeconds.observe(seconds);
        },
        onError: (error) => {
          this.stats.storeErrors++;
          log.error({ err: error, queueDepth: this.batcher.depth }, "store write failed; the batch stays queued and is retried");
        },
      },
    );
    this.dedupe = new DedupeWindow({ windowMs: config.dedupeWindowMs, maxEntries: config.dedupeMaxEntries }, Date.now());
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
    const pipeline = new IngestPipeline(this.stats, this.dedupe, this.batcher, {
      maxDatagramBytes: config.maxDatagramBytes,
      maxSkewMs: config.maxSkewMs,
      auth,
      limiter: this.limiter,
    });
    this.source = new UdpSource(
      { hosts: config.udpHosts, port: config.udpPort, recvBufferBytes: config.recvBufferBytes },
      (payload, source) => pipeline.handleDatagram(payload, source),
      log,
    );
    this.metrics = createMetrics(this.stats, () => this.batcher.depth);
    this.http = createHttpServer({
      store,
      stats: this.stats,
      metrics: this.metrics,
      ready: () => this.ready,
      queueDepth: () => this.batcher.depth,
      log,
      apiToken: config.apiToken,
    });
  }

  /**
   * By default the store runs on its own thread (ThreadedStore) and batches cross as wire
   * lines; a store passed in (tests, other stores) is written on this thread.
   */
  static async create(config: CollectorConfig, options: { store?: Store; log?: Logger } = {}): Promise<Collector> {
    const log = options.log ?? pino({ level: config.logLevel, base: { service: "collector" } });
    if (options.store) return new Collector(config, options.store, lineSinkFor(options.store), log);
    const store = new ThreadedStore(
      config.store === "clickhouse"
        ? {
            kind: "clickhouse",
            url: config.clickhouseUrl!,
            database: config.clickhouseDatabase,
            username: config.clickhouseUser,
            password: config.clickhousePassword,
            cluster: config.clickhouseCluster,
          }
        : { kind: "duckdb", path: config.duckdbPath },
    );
    return new Collector(config, store, { writeBatch: (lines) => store.writeLines(lines) }, log);
  }

  async start(): Promise<void> {
    const version = await this.store.migrate();
    this.log.info({ store: this.store.kind, schemaVersion: version }, "store ready");
    await this.source.start();
    await this.http.listen({ port: this.config.httpPort, host: this.config.httpHost });
    this.lossTimer = setInterval(() => void this.refreshLossGauge(), LOSS_REFRESH_MS);
    this.lossTimer.unref();
    this.ready = true;
  }

  /** The HTTP port actually bound (useful with port 0). */
  get httpPort(): number {
    const address = this.http.server.address();
    return typeof address === "object" && address ? address.port : this.config.httpPort;
  }

  get udpPort(): number {
    return this.source.port;
  }

  get queueDepth(): number {
    return this.batcher.depth;
  }

  /** Waits until everything accepted so far has been written (or the deadline passes). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.batcher.depth > 0 && Date.now() < deadline) {
      await this.batcher.flush();
      if (this.batcher.depth > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.batcher.depth === 0;
  }

  private async refreshLossGauge(): Promise<void> {
    try {
      const to = Date.now();
      this.stats.dedupeEvictions = this.dedupe.evictions;
      this.stats.sourceEvictions = this.limiter.evictions;
      for (const region of await this.store.qualityByRegion({ from: to - 15 * 60_000, to })) {
        this.metrics.estimatedLoss.set({ region: region.region }, region.lossPercent / 100);
      }
    } catch (error) {
      this.log.warn({ err: error }, "could not refresh the loss estimate");
    }
  }

  /** Stops intake, drains the queue into the store and closes; bounded by shutdownTimeoutMs. */
  async stop(): Promise<boolean> {
    this.ready = false;
    if (this.lossTimer) clearInterval(this.lossTimer);
    await this.source.stop();
    const drained = await this.batcher.drain(Date.now() + this.config.shutdownTimeoutMs);
    if (!drained) this.log.error({ lost: this.batcher.depth }, "shutdown deadline passed with events still queued");
    // The final account, for operators and for the shutdown test.
    this.log.info({ accepted: this.stats.accepted, stored: this.stats.storedEvents, drained }, "stopped");
    await this.http.close();
    await this.store.close();
    return drained;
  }
}
