import type { SpoolLedger } from "./ledger";
import type { SpooledLines, SpoolReader } from "./spool-reader";

/** Which part of which spool a batch is: stores commit `to` atomically with the rows. */
export interface SpoolCommit {
  readonly spool: string;
  readonly from: number;
  readonly to: number;
}

/** A store as the spool consumer sees it. */
export interface CommittingSink {
  /** Runs migrations; called (and retried) before the first write. */
  prepare(): Promise<void>;
  /** The end of the last batch of `spool` the store holds; 0 when none. */
  committedPosition(spool: string): Promise<number>;
  /** Stores the lines and `commit.to` together, or nothing; a batch already stored is skipped. */
  write(lines: SpooledLines, commit: SpoolCommit): Promise<void>;
}

export interface SpoolConsumerOptions {
  readonly spoolId: string;
  /** Most lines per store write. */
  readonly batchSize: number;
  /** Write at least this often while records are waiting. */
  readonly flushIntervalMs: number;
  /** First wait after a failure; doubles up to 30 s. */
  readonly retryBaseMs: number;
  /**
   * The positions shared with the writer: the consumer stores up to `synced` (and at once up to
   * `flushUpTo`); its reader publishes `committed` and deletes what the store holds.
   */
  readonly ledger: SpoolLedger;
}

export interface SpoolConsumerEvents {
  onReady?(committed: number): void;
  onCommit?(to: number, lines: number, seconds: number): void;
  onError?(error: Error, failures: number): void;
  onCorrupt?(position: number, reason: string): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Moves records from the spool into the store, in order. Progress lives in the store, written
 * in the same transaction (or insert) as the rows: after a failure or a restart it asks the
 * store where it got to and carries on from there, so nothing is stored twice or skipped.
 */
export class SpoolConsumer {
  private position = 0;
  private stopped = false;
  private failures = 0;
  /**
   * The next write is due flushIntervalMs after the last one ended, but at most twice that after
   * its batch was taken: a slow write (one that checkpoints) is followed at once, rather than by
   * a full interval during which its events' successors wait too. Counting from the take alone
   * made writes back to back with smaller batches: 16 % more CPU at 80k events/s.
   */
  private nextWriteDueAt = Date.now();
  private bytesPerLine = 200;
  /** A write that failed and may have landed, until the store has said where it got to. */
  private unconfirmed?: { to: number; lines: number; started: bigint };
  private running?: Promise<void>;

  constructor(
    private readonly reader: SpoolReader,
    private readonly sink: CommittingSink,
    private readonly options: SpoolConsumerOptions,
    private readonly events: SpoolConsumerEvents = {},
  ) {}

  get committed(): number {
    return this.position;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops after the write in progress; what is left stays in the spool for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<void> {
    for (let ready = false; !this.stopped && !ready; ) {
      try {
        await this.sink.prepare();
        await this.resync();
        ready = true;
        this.failures = 0;
        this.events.onReady?.(this.position);
      } catch (error) {
        await this.backOff(error as Error);
      }
    }
    while (!this.stopped) {
      const { ledger } = this.options;
      const waiting = ledger.synced - this.position;
      const due =
        waiting >= this.options.batchSize * this.bytesPerLine || Date.now() >= this.nextWriteDueAt || this.position < ledger.flushUpTo;
      if (waiting > 0 && due) await this.writeNext();
      else await sleep(Math.min(20, this.options.flushIntervalMs));
    }
  }

  private async writeNext(): Promise<void> {
    const started = process.hrtime.bigint();
    const takenAt = Date.now();
    try {
      // After a failure the store may hold more than we know (a lost reply): learn where it got
      // to before writing again, since a batch over a different range would carry a different
      // token and store the landed rows a second time.
      if (this.unconfirmed) await this.confirm();
      const batch = this.reader.read(this.position, this.options.ledger.synced, this.options.batchSize);
      for (const bad of batch.corrupt) this.events.onCorrupt?.(bad.position, bad.reason);
      if (batch.lines.count === 0) {
        this.advance(batch.to);
        return;
      }
      this.unconfirmed = { to: batch.to, lines: batch.lines.count, started };
      await this.sink.write(batch.lines, { spool: this.options.spoolId, from: batch.from, to: batch.to });
      this.unconfirmed = undefined;
      this.bytesPerLine = Math.max(16, (batch.to - batch.from) / batch.lines.count);
      this.advance(batch.to);
      this.failures = 0;
      const interval = this.options.flushIntervalMs;
      this.nextWriteDueAt = Math.min(Date.now() + interval, takenAt + 2 * interval);
      this.events.onCommit?.(batch.to, batch.lines.count, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (error) {
      // A failed read, write or resync: the records stay in the spool and are tried again.
      await this.backOff(error as Error);
      await this.confirm().catch(() => undefined);
    }
  }

  /**
   * Asks the store where it got to after a failed write. If the write landed after all, its
   * batch is stored: say so, or stored counts miss it.
   */
  private async confirm(): Promise<void> {
    const attempted = this.unconfirmed;
    const before = this.position;
    await this.resync();
    this.unconfirmed = undefined;
    if (attempted && before < attempted.to && this.position >= attempted.to) {
      this.failures = 0;
      this.events.onCommit?.(attempted.to, attempted.lines, Number(process.hrtime.bigint() - attempted.started) / 1e9);
    }
  }

  private async resync(): Promise<void> {
    const committed = await this.sink.committedPosition(this.options.spoolId);
    // Segments below the oldest on disk were deleted because they were stored.
    this.advance(Math.max(committed, this.reader.start()));
  }

  /** Everything below `position` is stored: publish it and delete the segments it covers. */
  private advance(position: number): void {
    this.position = position;
    this.reader.release(position);
  }

  private async backOff(error: Error): Promise<void> {
    this.failures++;
    this.events.onError?.(error, this.failures);
    const delay = Math.min(30_000, this.options.retryBaseMs * 2 ** (this.failures - 1));
    const until = Date.now() + delay;
    while (!this.stopped && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
  }
}
