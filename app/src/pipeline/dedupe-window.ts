export interface DedupeWindowOptions {
  /** How long an id is remembered, at least. */
  readonly windowMs: number;
  /** Most ids kept; beyond it the oldest generation is dropped early (counted as evictions). */
  readonly maxEntries: number;
}

/**
 * Remembers event ids for at least `windowMs` with two generations of Sets: lookups check
 * both, and the older one is dropped whole when the window passes or memory is at its cap.
 * O(1) per event, no per-entry timestamps.
 */
export class DedupeWindow {
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAt: number;
  evictions = 0;

  constructor(
    private readonly options: DedupeWindowOptions,
    now: number,
  ) {
    if (!(options.windowMs > 0)) throw new Error(`DedupeWindow: windowMs ${options.windowMs} must be positive`);
    if (!(options.maxEntries >= 2)) throw new Error(`DedupeWindow: maxEntries ${options.maxEntries} must be at least 2`);
    this.rotatedAt = now;
  }

  /** True when the id was seen in the window (a duplicate); otherwise remembers it. */
  seenOrAdd(id: string, now: number): boolean {
    if (now - this.rotatedAt >= this.options.windowMs) this.rotate(now, false);
    if (this.previous.has(id)) return true;
    // add() reports nothing, but the size does: one hash lookup instead of has() then add().
    const size = this.current.size;
    if (this.current.add(id).size === size) return true;
    if (size + 1 >= this.options.maxEntries / 2) this.rotate(now, true);
    return false;
  }

  /** Forgets an id remembered by mistake (its event was refused after all). */
  forget(id: string): void {
    this.current.delete(id);
    this.previous.delete(id);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number, early: boolean): void {
    if (early) this.evictions += this.previous.size;
    this.previous = this.current;
    this.current = new Set();
    this.rotatedAt = now;
  }
}
