/** Where batches go: a Store (events) or a store thread (the events' wire lines). */
export interface BatchSink<T> {
  writeBatch(items: readonly T[]): Promise<void>;
}

export interface BatcherOptions {
  /** Flush when this many events are pending. */
  readonly batchSize: number;
  /** Flush at least this often while events are pending. */
  readonly flushIntervalMs: number;
  /** Most events held in memory (pending plus the batch in flight); beyond it intake refuses. */
  readonly maxQueue: number;
  /** Wait before retrying a failed write; doubles up to 30 s. */
  readonly retryBaseMs?: number;
}

export interface BatcherEvents {
  onFlush?(events: number, seconds: number): void;
  onError?(error: Error): void;
}

/**
 * The bounded queue between ingest and the store. Events that were accepted stay here until
 * the store has them: a failed write is retried with the same batch, never dropped.
 */
export class Batcher<T> {
  private pending: T[] = [];
  private inFlight: readonly T[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly sink: BatchSink<T>,
    private readonly options: BatcherOptions,
    private readonly events: BatcherEvents = {},
  ) {
    if (!(options.batchSize >= 1)) throw new Error(`Batcher: batchSize ${options.batchSize} must be at least 1`);
    if (!(options.maxQueue >= options.batchSize))
      throw new Error(`Batcher: maxQueue ${options.maxQueue} must be at least batchSize ${options.batchSize}`);
    if (!(options.flushIntervalMs > 0)) throw new Error(`Batcher: flushIntervalMs ${options.flushIntervalMs} must be positive`);
  }

  /** Events held and not yet stored. */
  get depth(): number {
    return this.pending.length + this.inFlight.length;
  }

  get hasRoom(): boolean {
    return this.depth < this.options.maxQueue;
  }

  /** Queues an accepted event; the caller checks `hasRoom` first (overload is its decision). */
  add(item: T): void {
    this.pending.push(item);
    if (this.pending.length >= this.options.batchSize && this.failures === 0) void this.flush();
    else if (!this.timer && !this.stopped) this.timer = setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
  }

  /** Writes what is pending; resolves when that write (and any retry it needed) is done or failed. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing = this.writeOnce().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0 && !this.stopped) {
        const delay = this.failures > 0 ? Math.min(30_000, (this.options.retryBaseMs ?? 200) * 2 ** (this.failures - 1)) : 0;
        this.timer = setTimeout(
          () => void this.flush(),
          this.failures > 0 ? delay : this.pending.length >= this.options.batchSize ? 0 : this.options.flushIntervalMs,
        );
      }
    });
    return this.flushing;
  }

  private async writeOnce(): Promise<void> {
    const batch = this.pending.length <= this.options.batchSize ? this.pending : this.pending.slice(0, this.options.batchSize);
    this.pending = batch === this.pending ? [] : this.pending.slice(batch.length);
    this.inFlight = batch;
    const started = process.hrtime.bigint();
    try {
      await this.sink.writeBatch(batch);
      this.failures = 0;
      this.events.onFlush?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (error) {
      this.failures++;
      // Put the batch back in front, in order: accepted events are never dropped here.
      this.pending = batch.concat(this.pending);
      this.events.onError?.(error as Error);
    } finally {
      this.inFlight = [];
    }
  }

  /** Stops timers and writes everything pending, retrying until done or `deadline` (epoch ms). */
  async drain(deadline: number): Promise<boolean> {
    this.stopped = true;
    while (this.depth > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.pending.length > 0 && this.failures > 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))));
    }
    if (this.timer) clearTimeout(this.timer);
    return this.depth === 0;
  }
}
