import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { SpoolLedger } from "../spool/ledger";
import type { SpoolConsumerEvents } from "../spool/spool-consumer";
import { SinkTelemetry, countingEvents, type ConsumeOptions, type StoreHandle } from "./store-handle";
import type { InsightQueries } from "./store";
import type { ClickHouseStoreOptions } from "./clickhouse-store";
import type { DuckDbStoreOptions } from "./duckdb-store";

/** What the store thread opens: a store's own options, as that store declares them. */
export type StoreWorkerData = (
  | ({ readonly kind: "duckdb" } & DuckDbStoreOptions)
  | ({ readonly kind: "clickhouse" } & ClickHouseStoreOptions)
) & {
  /** When set, the store thread lowers its own priority to this nice value (see thread-priority.ts). */
  readonly nice?: number;
};

/** The insight queries, asked on the store thread. */
export const INSIGHT_METHODS = [
  "summary",
  "concurrentListeners",
  "streamsPerMinute",
  "top",
  "trending",
  "qualityByRegion",
  "experienceByRegion",
] as const satisfies ReadonlyArray<keyof InsightQueries>;
type InsightMethod = (typeof INSIGHT_METHODS)[number];
type StoreMethod = "migrate" | "committedPosition" | "countEvents";

export type StoreRequest =
  | { id: number; kind: "call"; method: StoreMethod; args: unknown[] }
  | { id: number; kind: "insight"; method: InsightMethod; args: unknown[] }
  | { id: number; kind: "consume"; options: ConsumeOptions; ledger: SharedArrayBuffer }
  | { id: number; kind: "stopConsuming" }
  | { id: number; kind: "close" };

/** A request before it gets its id (Omit distributed over the union's members). */
type StoreRequestBody = StoreRequest extends infer Request ? (Request extends StoreRequest ? Omit<Request, "id"> : never) : never;

export type StoreResponse = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };

/** What the store thread's consumer reports, unasked. */
export type StoreEvent =
  | { event: "ready"; committed: number }
  | { event: "commit"; to: number; lines: number; seconds: number }
  | { event: "error"; message: string; failures: number }
  | { event: "corrupt"; position: number; reason: string };

/** The worker entry: compiled JS in the image, TypeScript through ts-node in development. */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = join(__dirname, "store-worker.js");
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: join(__dirname, "store-worker.ts"), execArgv: ["-r", "ts-node/register/transpile-only"] };
}

/**
 * The store on its own thread, together with the spool consumer: accepted events reach it
 * through the spool files and the ledger, never through messages, so the receiving thread only
 * decodes, validates, dedupes and appends. Insight queries and health cross as messages.
 */
export class StoreThread implements StoreHandle {
  readonly kind: string;
  readonly telemetry = new SinkTelemetry();
  readonly insights: InsightQueries;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exited?: Error;
  private closing = false;
  private readonly failureListeners: Array<(error: Error) => void> = [];
  private consumerEvents: SpoolConsumerEvents = {};

  constructor(data: StoreWorkerData) {
    this.kind = `${data.kind} (store thread)`;
    this.insights = Object.fromEntries(
      INSIGHT_METHODS.map((method) => [method, (...args: unknown[]) => this.send({ kind: "insight", method, args })]),
    ) as unknown as InsightQueries;
    const entry = workerEntry();
    this.worker = new Worker(entry.file, { workerData: data, execArgv: entry.execArgv });
    this.worker.on("message", (response: StoreResponse | StoreEvent) => {
      if ("event" in response) return this.dispatch(response);
      const waiter = this.pending.get(response.id);
      if (!waiter) return;
      this.pending.delete(response.id);
      if (response.ok) waiter.resolve(response.result);
      else waiter.reject(new Error(response.error));
    });
    const fail = (error: Error) => {
      if (this.exited) return;
      this.exited = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      if (!this.closing) for (const listener of this.failureListeners) listener(error);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`store thread exited (code ${code})`)));
  }

  private dispatch(message: StoreEvent): void {
    const events = this.consumerEvents;
    if (message.event === "ready") events.onReady?.(message.committed);
    else if (message.event === "commit") events.onCommit?.(message.to, message.lines, message.seconds);
    else if (message.event === "error") events.onError?.(new Error(message.message), message.failures);
    else events.onCorrupt?.(message.position, message.reason);
  }

  startConsuming(options: ConsumeOptions, ledger: SpoolLedger, events?: SpoolConsumerEvents): Promise<void> {
    this.consumerEvents = countingEvents(this.telemetry, events);
    return this.send({ kind: "consume", options, ledger: ledger.buffer });
  }

  stopConsuming(): Promise<void> {
    return this.send({ kind: "stopConsuming" });
  }

  private send<T>(request: StoreRequestBody): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private call<T>(method: StoreMethod, ...args: unknown[]): Promise<T> {
    return this.send<T>({ kind: "call", method, args });
  }

  committedPosition(spool: string): Promise<number> {
    return this.call("committedPosition", spool);
  }

  migrate(): Promise<number> {
    return this.call("migrate");
  }

  countEvents(): Promise<number> {
    return this.call("countEvents");
  }

  /**
   * Why the store thread ended, when it ended on its own (not through close): nothing is stored
   * from then on, though intake goes on filling the spool.
   */
  get failure(): Error | undefined {
    return this.closing ? undefined : this.exited;
  }

  /** Called once if the store thread ends on its own. */
  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (!this.exited) await this.send({ kind: "close" });
    await this.worker.terminate();
  }
}
