import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { PlaybackEvent } from "../protocol/event";
import type { InsightQuery, MinuteCount, RankBy, RankedName, RegionExperience, RegionQuality, Store, Summary, TrendingName } from "./store";

export type StoreWorkerData =
  | { readonly kind: "duckdb"; readonly path: string }
  | {
      readonly kind: "clickhouse";
      readonly url: string;
      readonly database: string;
      readonly username: string;
      readonly password: string;
      readonly cluster?: string;
    };

type QueryMethod =
  | "migrate"
  | "summary"
  | "concurrentListeners"
  | "streamsPerMinute"
  | "top"
  | "trending"
  | "qualityByRegion"
  | "experienceByRegion"
  | "countEvents";

export type StoreRequest =
  | { id: number; kind: "write"; lines: readonly string[] }
  | { id: number; kind: "call"; method: QueryMethod; args: unknown[] }
  | { id: number; kind: "close" };

export type StoreResponse = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };

/** The worker entry: compiled JS in the image, TypeScript through ts-node in development. */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = join(__dirname, "store-worker.js");
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: join(__dirname, "store-worker.ts"), execArgv: ["-r", "ts-node/register/transpile-only"] };
}

/**
 * A Store whose real implementation runs on its own thread. Batches cross as the events' wire
 * lines (strings clone ~6× faster than objects), so the receiving thread only decodes,
 * validates and dedupes.
 */
export class ThreadedStore implements Store {
  readonly kind: string;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exited?: Error;

  constructor(data: StoreWorkerData) {
    this.kind = `${data.kind} (store thread)`;
    const entry = workerEntry();
    this.worker = new Worker(entry.file, { workerData: data, execArgv: entry.execArgv });
    this.worker.on("message", (response: StoreResponse) => {
      const waiter = this.pending.get(response.id);
      if (!waiter) return;
      this.pending.delete(response.id);
      if (response.ok) waiter.resolve(response.result);
      else waiter.reject(new Error(response.error));
    });
    const fail = (error: Error) => {
      this.exited = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`store thread exited (code ${code})`)));
  }

  private send<T>(request: Omit<StoreRequest, "id"> & { kind: StoreRequest["kind"] }): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private call<T>(method: QueryMethod, ...args: unknown[]): Promise<T> {
    return this.send<T>({ kind: "call", method, args } as StoreRequest);
  }

  /** Stores a batch of accepted wire lines. */
  writeLines(lines: readonly string[]): Promise<void> {
    return this.send<void>({ kind: "write", lines } as StoreRequest);
  }

  writeBatch(events: readonly PlaybackEvent[]): Promise<void> {
    return this.writeLines(events.map((event) => JSON.stringify(event)));
  }

  migrate(): Promise<number> {
    return this.call("migrate");
  }
  summary(query: InsightQuery): Promise<Summary> {
    return this.call("summary", query);
  }
  concurrentListeners(at: number, filters?: Omit<InsightQuery, "from" | "to">): Promise<number> {
    return this.call("concurrentListeners", at, filters);
  }
  streamsPerMinute(query: InsightQuery): Promise<MinuteCount[]> {
    return this.call("streamsPerMinute", query);
  }
  top(query: InsightQuery, by: RankBy, limit: number): Promise<RankedName[]> {
    return this.call("top", query, by, limit);
  }
  trending(query: InsightQuery, by: RankBy, limit: number): Promise<TrendingName[]> {
    return this.call("trending", query, by, limit);
  }
  qualityByRegion(query: InsightQuery): Promise<RegionQuality[]> {
    return this.call("qualityByRegion", query);
  }
  experienceByRegion(query: InsightQuery): Promise<RegionExperience[]> {
    return this.call("experienceByRegion", query);
  }
  countEvents(): Promise<number> {
    return this.call("countEvents");
  }

  async close(): Promise<void> {
    if (!this.exited) await this.send({ kind: "close" } as StoreRequest);
    await this.worker.terminate();
  }
}
