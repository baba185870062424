import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { REJECT_REASONS } from "./protocol/event";
import type { SpoolStatus } from "./spool/spool-writer";
import type { ProcessCounters } from "./telemetry";

export interface CollectorMetrics {
  readonly registry: Registry;
  readonly flushSeconds: Histogram;
  readonly estimatedLoss: Gauge<"region">;
  readonly estimatedLossUpdated: Gauge;
}

/** The admission stage's bounded tables, read when scraped. */
export interface AdmissionTables {
  readonly dedupeEntries: number;
  readonly dedupeMaxEntries: number;
  readonly dedupeEvictions: number;
  readonly sources: number;
  readonly maxSources: number;
  readonly sourceEvictions: number;
}

/** What a scrape reads: snapshots of the stages' own counts, the spool and the admission tables. */
export interface MetricSources {
  readonly counters: () => ProcessCounters;
  readonly spool: () => SpoolStatus;
  readonly tables: () => AdmissionTables;
  /** Datagrams the kernel dropped for the collector's UDP sockets; undefined where unknown. */
  readonly kernelDrops?: () => number | undefined;
  /** /readyz and /healthz as numbers, so alerts can see them without probing. */
  readonly health?: () => { readonly ready: boolean; readonly storeAlive: boolean };
}

/**
 * Prometheus metrics. Each stage counts in plain numeric fields on the hot path; a scrape reads
 * their snapshots into the counters. No label ever carries a user id.
 */
export function createMetrics(sources: MetricSources): CollectorMetrics {
  const { spool, tables } = sources;
  const stats = (): ProcessCounters => sources.counters();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter("collector_datagrams_received_total", "UDP datagrams received", () => stats().datagrams);
  new Counter({
    name: "collector_udp_receive_drops_total",
    help: "Datagrams the kernel dropped for the collector's UDP port because the socket buffer was full (/proc/net/udp)",
    registers: [registry],
    collect() {
      const drops = sources.kernelDrops?.();
      this.reset();
      if (drops !== undefined) this.inc(drops);
    },
  });
  counter("collector_events_received_total", "Events (non-empty lines) received", () => stats().events);
  counter("collector_events_accepted_total", "Events accepted (appended to the spool)", () => stats().accepted);
  counter("collector_events_stored_total", "Events written to the store", () => stats().storedEvents);
  counter(
    "collector_duplicates_total",
    "Events dropped as duplicates of an id seen in the dedupe window",
    () => stats().rejectedEvents.duplicate,
  );
  counter("collector_store_errors_total", "Failed batch writes (retried from the spool)", () => stats().storeErrors);
  counter(
    "collector_spool_write_errors_total",
    "Spool appends that failed (their events counted as overload)",
    () => stats().spoolWriteErrors,
  );
  counter("collector_spool_corrupt_records_total", "Spool records skipped on replay: checksum failed", () => stats().spoolCorruptRecords);
  counter("collector_dedupe_evictions_total", "Ids forgotten early because the dedupe table was full", () => tables().dedupeEvictions);
  counter(
    "collector_source_evictions_total",
    "Sources forgotten by the rate limiter because its table was full",
    () => tables().sourceEvictions,
  );
  const tableGauge = (name: string, help: string, read: (now: AdmissionTables) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(tables()));
      },
    });
  tableGauge("collector_dedupe_entries", "Ids the dedupe table holds", (now) => now.dedupeEntries);
  tableGauge("collector_dedupe_max_entries", "The dedupe table's cap (dedupeMaxEntries)", (now) => now.dedupeMaxEntries);
  tableGauge("collector_source_entries", "Source addresses the rate limiter tracks", (now) => now.sources);
  tableGauge("collector_source_max_entries", "The rate limiter's cap (maxSources)", (now) => now.maxSources);
  new Counter({
    name: "collector_events_rejected_total",
    help: "Events rejected, by reason",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      const counts = stats();
      for (const reason of REJECT_REASONS) this.inc({ reason }, counts.rejectedEvents[reason]);
    },
  });
  new Counter({
    name: "collector_datagrams_rejected_total",
    help: "Whole datagrams rejected, by reason",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      const counts = stats();
      for (const reason of REJECT_REASONS) this.inc({ reason }, counts.rejectedDatagrams[reason]);
    },
  });
  const gauge = (name: string, help: string, read: (status: SpoolStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(spool()));
      },
    });
  gauge("collector_spool_bytes", "Bytes the spool's segments hold on disk", (status) => status.diskBytes);
  gauge("collector_spool_max_bytes", "The spool's bound; at it new events are refused as overload", (status) => status.maxBytes);
  gauge("collector_spool_backlog_bytes", "Spooled bytes the store does not hold yet", (status) => status.backlogBytes);
  gauge("collector_spool_segments", "Spool segment files on disk", (status) => status.segments);
  const healthGauge = (name: string, help: string, read: (now: { ready: boolean; storeAlive: boolean }) => boolean) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const now = sources.health?.();
        if (now) this.set(read(now) ? 1 : 0);
      },
    });
  healthGauge(
    "collector_ready",
    "1 while /readyz answers ready (started, store alive, spool below spoolReadyMaxRatio)",
    (now) => now.ready,
  );
  healthGauge(
    "collector_store_alive",
    "1 while the store thread runs; 0 once it ended (nothing more is stored until a restart)",
    (now) => now.storeAlive,
  );
  const flushSeconds = new Histogram({
    name: "collector_flush_duration_seconds",
    help: "Time to write one batch to the store",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const estimatedLoss = new Gauge({
    name: "collector_estimated_loss_ratio",
    help: "Share of events missing from seq gaps, by region, over the last 15 minutes",
    labelNames: ["region"],
    registers: [registry],
  });
  // The estimate is refreshed less often when its query is slow: its age tells how current it is.
  const estimatedLossUpdated = new Gauge({
    name: "collector_estimated_loss_updated_timestamp_seconds",
    help: "When collector_estimated_loss_ratio was last computed (Unix seconds; 0 before the first time)",
    registers: [registry],
  });
  return { registry, flushSeconds, estimatedLoss, estimatedLossUpdated };
}
