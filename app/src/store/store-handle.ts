import { SpoolConsumer, type SpoolConsumerEvents, type SpoolConsumerOptions } from "../spool/spool-consumer";
import type { SpoolLedger } from "../spool/ledger";
import { SpoolReader } from "../spool/spool-reader";
import { committingSinkFor } from "./committing-sink";
import type { InsightQueries, Store } from "./store";

/** What the sink (the spool consumer and its store) counts. */
export class SinkTelemetry {
  /** Events written to the store. */
  stored = 0;
  /** Failed batch writes (retried from the spool). */
  errors = 0;
  /** Spool records skipped on replay: checksum failed. */
  corrupt = 0;
}

/** What the store thread's spool consumer needs: the spool directory instead of a reader. */
export type ConsumeOptions = Omit<SpoolConsumerOptions, "ledger"> & { readonly dir: string };

/**
 * The collector's view of its store, wherever it runs: the sink (the spool consumer beside the
 * store, started once), the insight queries (HTTP and the loss job) and health.
 */
export interface StoreHandle {
  readonly kind: string;
  readonly insights: InsightQueries;
  readonly telemetry: SinkTelemetry;
  migrate(): Promise<number>;
  committedPosition(spool: string): Promise<number>;
  /** Starts the spool consumer beside the store; it reads the writer's positions from `ledger`. */
  startConsuming(options: ConsumeOptions, ledger: SpoolLedger, events?: SpoolConsumerEvents): Promise<void>;
  /** Stops after the write in progress; what is left stays in the spool. */
  stopConsuming(): Promise<void>;
  /** Why the store ended on its own, if it did: nothing more is stored until a restart. */
  readonly failure: Error | undefined;
  onFailure(listener: (error: Error) => void): void;
  countEvents(): Promise<number>;
  close(): Promise<void>;
}

/** Counts the consumer's events in `telemetry`, then tells `events`. */
export function countingEvents(telemetry: SinkTelemetry, events: SpoolConsumerEvents = {}): SpoolConsumerEvents {
  return {
    onReady: (committed) => events.onReady?.(committed),
    onCommit: (to, lines, seconds) => {
      telemetry.stored += lines;
      events.onCommit?.(to, lines, seconds);
    },
    onError: (error, failures) => {
      telemetry.errors++;
      events.onError?.(error, failures);
    },
    onCorrupt: (position, reason) => {
      telemetry.corrupt++;
      events.onCorrupt?.(position, reason);
    },
  };
}

/** A store written from this thread (tests, the lab's injected stores): the consumer runs here too. */
export class LocalStoreHandle implements StoreHandle {
  readonly telemetry = new SinkTelemetry();
  readonly failure = undefined;
  private consumer?: SpoolConsumer;
  private reader?: SpoolReader;

  constructor(private readonly store: Store) {}

  get kind(): string {
    return this.store.kind;
  }

  get insights(): InsightQueries {
    return this.store.insights;
  }

  migrate(): Promise<number> {
    return this.store.migrate();
  }

  committedPosition(spool: string): Promise<number> {
    return this.store.committedPosition(spool);
  }

  async startConsuming(options: ConsumeOptions, ledger: SpoolLedger, events?: SpoolConsumerEvents): Promise<void> {
    const { dir, ...consumerOptions } = options;
    this.reader = new SpoolReader(dir, ledger);
    this.consumer = new SpoolConsumer(
      this.reader,
      committingSinkFor(this.store),
      { ...consumerOptions, ledger },
      countingEvents(this.telemetry, events),
    );
    this.consumer.start();
  }

  async stopConsuming(): Promise<void> {
    await this.consumer?.stop();
    this.reader?.close();
  }

  onFailure(): void {
    // A store on this thread fails its calls, not a thread.
  }

  countEvents(): Promise<number> {
    return this.store.countEvents();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** The handle for a store: its own if it is one already (a store thread), else this thread's. */
export function storeHandleFor(store: Store | StoreHandle): StoreHandle {
  return "startConsuming" in store ? store : new LocalStoreHandle(store);
}
