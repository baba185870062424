import type { Logger } from "pino";
import { loadAddon } from "./native-addon";

const MIB = 1024 * 1024;

/**
 * glibc settings for `retainMegabytes` of freed heap kept for reuse (M_TRIM_THRESHOLD), with
 * blocks up to a quarter of that, at most 64 MiB, served from the heap (M_MMAP_THRESHOLD). A
 * full store write holds its ~40 MiB batch text in one block, above glibc's own 32 MiB cap.
 */
export function mallocThresholds(retainMegabytes: number): { mmapThresholdBytes: number; trimThresholdBytes: number } {
  if (!Number.isInteger(retainMegabytes) || retainMegabytes < 1 || retainMegabytes > 2047)
    throw new RangeError(`mallocRetainMegabytes must be an integer 1..2047 (got ${retainMegabytes})`);
  return {
    mmapThresholdBytes: Math.min(64 * MIB, Math.floor((retainMegabytes * MIB) / 4)),
    trimThresholdBytes: retainMegabytes * MIB,
  };
}

/**
 * Keeps large freed blocks for reuse instead of unmapping them, so each store write does not
 * fault in and zero tens of MiB of fresh pages (see app/native/malloc_tuning.c). Process-wide.
 */
export function retainFreedMemory(retainMegabytes: number, log: Logger): void {
  const thresholds = mallocThresholds(retainMegabytes);
  const applied = loadAddon("mallocRetainMegabytes (set it to 0 to do without)").setMallocThresholds(
    thresholds.mmapThresholdBytes,
    thresholds.trimThresholdBytes,
  );
  if (applied) log.info({ ...thresholds }, "large freed blocks stay in the heap for reuse");
  else log.warn({ ...thresholds }, "the C library is not glibc or refused the malloc thresholds; large blocks are mapped afresh each time");
}
