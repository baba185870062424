/**
 * A set of 64-bit fingerprints of strings in one typed array (open addressing, linear
 * probing). Compared with a Set of the strings themselves it keeps no string alive, so ids
 * die young instead of filling the old generation, and a lookup touches one or two cache
 * lines instead of a bucket, an entry and the string. Two different strings share a
 * fingerprint with probability about 2^-64 per pair (see fingerprintHigh/Low).
 */
export class FingerprintTable {
  /** Two words per slot, high then low; 0, 0 marks an empty slot. */
  private slots: Int32Array;
  private mask: number;
  count = 0;

  constructor(initialCapacity = 1 << 12) {
    const capacity = 1 << Math.ceil(Math.log2(Math.max(initialCapacity, 16)));
    this.slots = new Int32Array(2 * capacity);
    this.mask = capacity - 1;
  }

  /** Empties the table, keeping its capacity. */
  clear(): void {
    this.slots.fill(0);
    this.count = 0;
  }

  has(high: number, low: number): boolean {
    return this.find(high, low) >= 0;
  }

  /** Adds the fingerprint; false when it was already there. */
  add(high: number, low: number): boolean {
    // Kept at most half full, so probes stay short.
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    const slots = this.slots;
    for (let slot = low & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = 2 * slot;
      const slotHigh = slots[at];
      const slotLow = slots[at + 1];
      if (slotHigh === 0 && slotLow === 0) {
        slots[at] = high;
        slots[at + 1] = low;
        this.count++;
        return true;
      }
      if (slotHigh === high && slotLow === low) return false;
    }
  }

  /** Removes the fingerprint, moving later entries of its probe run back so lookups still find them. */
  delete(high: number, low: number): void {
    let hole = this.find(high, low);
    if (hole < 0) return;
    const slots = this.slots;
    for (let slot = (hole + 1) & this.mask; slots[2 * slot] !== 0 || slots[2 * slot + 1] !== 0; slot = (slot + 1) & this.mask) {
      const home = slots[2 * slot + 1] & this.mask;
      // The entry may fill the hole only if its home is not in (hole, slot], cyclically.
      const homeAfterHole = (home - hole - 1) & this.mask;
      const slotAfterHole = (slot - hole - 1) & this.mask;
      if (homeAfterHole > slotAfterHole) {
        slots[2 * hole] = slots[2 * slot];
        slots[2 * hole + 1] = slots[2 * slot + 1];
        hole = slot;
      }
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    this.count--;
  }

  private find(high: number, low: number): number {
    const slots = this.slots;
    for (let slot = low & this.mask; ; slot = (slot + 1) & this.mask) {
      const slotHigh = slots[2 * slot];
      const slotLow = slots[2 * slot + 1];
      if (slotHigh === high && slotLow === low) return slot;
      if (slotHigh === 0 && slotLow === 0) return -1;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(2 * old.length);
    this.mask = old.length - 1;
    this.count = 0;
    for (let at = 0; at < old.length; at += 2) if (old[at] !== 0 || old[at + 1] !== 0) this.add(old[at], old[at + 1]);
  }
}

/** A 64-bit fingerprint as two 32-bit halves; callers reuse one object, so hashing allocates nothing. */
export interface Fingerprint {
  high: number;
  low: number;
}

/**
 * Two independent 32-bit hashes of the string's UTF-16 code units (FNV-1a and a
 * multiply-xorshift hash, each finished with murmur3's fmix32); together, a 64-bit fingerprint.
 * Not cryptographic: a client could make its own ids collide, which only drops its own events.
 */
export function fingerprintOf(text: string, into: Fingerprint): Fingerprint {
  let first = 0x811c9dc5;
  let second = 0x9747b28c ^ text.length;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    first = Math.imul(first ^ unit, 0x01000193);
    second = Math.imul(second ^ unit, 0x5bd1e995);
    second ^= second >>> 13;
  }
  into.high = fmix32(first);
  into.low = fmix32(second);
  // 0, 0 marks an empty slot; moving that one fingerprint changes nothing measurable.
  if (into.high === 0 && into.low === 0) into.low = 1;
  return into;
}

function fmix32(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash | 0;
}
