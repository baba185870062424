/**
 * The spool's ledger: the positions that the writer (the receiving thread) and the reader (the
 * store thread's consumer) tell each other, in one SharedArrayBuffer. It is the only contract
 * between the two threads, as in Vector's disk buffer (lib/vector-buffers/src/variants/disk_v2):
 * the writer creates and appends to segment files and publishes how far it has written and
 * synced; the reader stores, publishes how far the store holds, and deletes the segments it has
 * committed, publishing where the oldest remaining one starts.
 *
 * Each slot has one writing side, so plain loads and stores suffice (a Float64 slot holds any
 * position below 2^53 exactly); Atomics would only add ordering the protocol does not need.
 */
const SLOTS = {
  /** Writer: the position after the last appended record. */
  written: 0,
  /** Writer: records below this are fdatasynced and may be stored. */
  synced: 1,
  /** Anyone on the writer's side: store up to here without waiting for the flush interval. */
  flushUpTo: 2,
  /** Reader: the store holds everything below this. */
  committed: 3,
  /** Reader: where the oldest segment still on disk starts. */
  oldestSegment: 4,
} as const;

const SLOT_COUNT = Object.keys(SLOTS).length;

export class SpoolLedger {
  private readonly slots: Float64Array;

  /** A fresh ledger, or the view of one another thread created (pass its `buffer`). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOT_COUNT * Float64Array.BYTES_PER_ELEMENT)) {
    if (buffer.byteLength !== SLOT_COUNT * Float64Array.BYTES_PER_ELEMENT)
      throw new Error(`SpoolLedger: buffer has ${buffer.byteLength} bytes, expected ${SLOT_COUNT * Float64Array.BYTES_PER_ELEMENT}`);
    this.slots = new Float64Array(buffer);
  }

  get written(): number {
    return this.slots[SLOTS.written];
  }
  set written(position: number) {
    this.slots[SLOTS.written] = position;
  }

  get synced(): number {
    return this.slots[SLOTS.synced];
  }
  set synced(position: number) {
    this.slots[SLOTS.synced] = position;
  }

  get flushUpTo(): number {
    return this.slots[SLOTS.flushUpTo];
  }
  set flushUpTo(position: number) {
    this.slots[SLOTS.flushUpTo] = position;
  }

  get committed(): number {
    return this.slots[SLOTS.committed];
  }
  set committed(position: number) {
    this.slots[SLOTS.committed] = position;
  }

  get oldestSegment(): number {
    return this.slots[SLOTS.oldestSegment];
  }
  set oldestSegment(position: number) {
    this.slots[SLOTS.oldestSegment] = position;
  }

  /** Spooled bytes the store does not hold yet. */
  get backlogBytes(): number {
    return Math.max(0, this.written - this.committed);
  }

  /** Bytes the segments on disk hold (records only). */
  get diskBytes(): number {
    return this.written - this.oldestSegment;
  }
}
