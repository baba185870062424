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

/** The longest decay keepDuckDbFreedMemory takes (an hour); -1 is the shortest, for never. */
export const MAX_DUCKDB_ALLOCATOR_DECAY_MS = 3_600_000;

/** What keepDuckDbFreedMemory found and set. */
export interface DuckDbAllocatorDecay {
  /** The DuckDB library whose allocator was set. */
  readonly library: string;
  /** The decay DuckDB configured its allocator with (1 000 ms in DuckDB 1.5.6). */
  readonly configuredMs: number;
  /** The decay read back from the allocator's first arena after setting it. */
  readonly appliedMs: number;
  /** Arenas set (those not created yet take it as their default). */
  readonly arenas: number;
}

/**
 * How long DuckDB's bundled allocator (jemalloc) keeps freed pages for reuse before it hands
 * them back to the system; -1 keeps them. Process-wide: every DuckDB database in the process
 * shares the allocator. DuckDB's own 1 s (in 1.5.6) made a share of each store write's tens of MiB fresh
 * pages, each a page fault (see app/native/duckdb_allocator.c, docs/adr/0018). Call it once
 * DuckDB is loaded; throws naming the setting when the addon or DuckDB's jemalloc is missing.
 */
export function keepDuckDbFreedMemory(decayMs: number): DuckDbAllocatorDecay {
  if (!Number.isInteger(decayMs) || decayMs < -1 || decayMs > MAX_DUCKDB_ALLOCATOR_DECAY_MS)
    throw new RangeError(`duckdbAllocatorDecayMs must be an integer -1..${MAX_DUCKDB_ALLOCATOR_DECAY_MS} (got ${decayMs})`);
  const result = loadAddon("duckdbAllocatorDecayMs (set it to duckdb to do without)").setDuckDbAllocatorDecay(decayMs);
  if ("error" in result)
    throw new Error(`duckdbAllocatorDecayMs ${decayMs}: ${result.error} (set it to duckdb to leave DuckDB's allocator as it is)`);
  return result;
}

/**
 * Hands back the pages DuckDB's allocator keeps (keepDuckDbFreedMemory) now. Each arena, one per
 * thread that allocated, keeps what it freed, so a big query's memory stays resident long after
 * it, in every arena a big query ran on (docs/adr/0020). Throws as keepDuckDbFreedMemory does.
 */
export function purgeDuckDbFreedMemory(): { library: string; arenas: number } {
  const result = loadAddon("duckdbAllocatorDecayMs (set it to duckdb to do without)").purgeDuckDbFreedMemory();
  if ("error" in result) throw new Error(`purging DuckDB's freed memory: ${result.error}`);
  return result;
}
