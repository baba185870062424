/**
 * The playbacks whose stream row the DuckDB store wrote or read most recently, with the stream's
 * time exactly as stored (`streams.t`). Only the store writes `streams`, and it records here
 * only what it committed, so every entry equals the table's row: a playback found here with a
 * time at or before a batch's needs no statement at all, and one not found here is usually new.
 *
 * Bounded: two generations of at most `capacity` entries each. When the newer fills up, the
 * older is dropped, so the playbacks seen in the last `capacity` to `2 × capacity` lookups
 * stay (a live playback qualifies again in every batch and so stays); a dropped one costs only
 * the slower statement the next time it qualifies.
 */
export class KnownStreams {
  private newer = new Map<string, number>();
  private older = new Map<string, number>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`KnownStreams capacity must be a positive integer (got ${capacity})`);
  }

  /** The stored stream time of a playback, if known. A hit is kept in the newer generation. */
  get(pid: string): number | undefined {
    const t = this.newer.get(pid);
    if (t !== undefined) return t;
    const old = this.older.get(pid);
    if (old !== undefined) this.set(pid, old);
    return old;
  }

  /** Records a committed stream time. */
  set(pid: string, t: number): void {
    if (!this.newer.has(pid) && this.newer.size >= this.capacity) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(pid, t);
  }

  /** After a write whose outcome is unknown: forget everything rather than risk a stale entry. */
  clear(): void {
    this.newer = new Map();
    this.older = new Map();
  }

  get size(): number {
    let size = this.newer.size;
    for (const pid of this.older.keys()) if (!this.newer.has(pid)) size++;
    return size;
  }
}
