import { join } from "node:path";

/** The collector's native addon, built from app/native by `npm run build:native` (Linux). */
export interface CollectorAddon {
  /** See app/native/udp_batch.c. */
  udpOpen(
    host: string,
    port: number,
    ipv6Only: boolean,
    recvBufferBytes: number,
    payloads: ArrayBuffer,
    meta: Int32Array,
    onBatch: (count: number) => void,
  ): { handle: object; port: number; recvBufferBytes: number };
  udpClose(handle: object): void;
  /** See app/native/event_scan.c. */
  eventScanConfigure(
    version: number,
    idLength: number,
    labelLength: number,
    nameLength: number,
    codeLength: number,
    types: string[],
    playbackTypes: string[],
    sources: string[],
    stallRequiredOn: string,
    codeRequiredOn: string,
    fields: string[],
  ): void;
  eventScan(buffer: Buffer, start: number, end: number, results: Float64Array): number;
  eventScanRows(
    buffer: Buffer,
    start: number,
    end: number,
    layout: Buffer,
    suffix: Buffer,
    out: Buffer,
    outAt: number,
    results: Float64Array,
  ): number;
  /** See app/native/native_block.c. */
  nativeBlockWrite(
    rows: Buffer,
    rowsLength: number,
    count: number,
    types: Buffer,
    headers: Buffer,
    headerEnds: Uint32Array,
    out: Buffer,
  ): number;
  /** See app/native/thread_nice.c. */
  setThreadPoolNice(nice: number, poolSize: number): Promise<{ threads: number; error: string | null }>;
  /** See app/native/malloc_tuning.c. */
  setMallocThresholds(mmapThresholdBytes: number, trimThresholdBytes: number): boolean;
  /** See app/native/duckdb_allocator.c. */
  setDuckDbAllocatorDecay(
    decayMs: number,
  ): { library: string; configuredMs: number; appliedMs: number; arenas: number } | { error: string };
  /** See app/native/duckdb_allocator.c. */
  purgeDuckDbFreedMemory(): { library: string; arenas: number } | { error: string };
}

export const ADDON_PATH = join(__dirname, "..", "native", "build", "Release", "collector_native.node");

let addon: CollectorAddon | undefined;

/**
 * Loads the addon, or throws naming the setting that needs it and how to get it: a missing
 * build is a configuration error to report, not a reason to run slower without saying so.
 */
export function loadAddon(neededFor: string): CollectorAddon {
  if (!addon) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(ADDON_PATH) as CollectorAddon;
    } catch (error) {
      throw new Error(
        `${neededFor} needs the collector's native addon, which is not built (${ADDON_PATH}: ${(error as Error).message.split("\n")[0]}). ` +
          "Build it with `npm run build:native` (Linux; needs python3, make and a C compiler).",
      );
    }
  }
  return addon;
}
