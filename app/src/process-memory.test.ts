import { execFileSync } from "node:child_process";
import { ADDON_PATH } from "./native-addon";
import { mallocThresholds } from "./process-memory";

/**
 * Minor page faults of a fresh Node process that allocates, fills and frees a 40 MiB buffer
 * 20 times (the size of a full store batch's text), with or without the thresholds applied.
 */
function pageFaultsOfLargeAllocations(thresholds?: ReturnType<typeof mallocThresholds>): number {
  const script = `
    const addon = require(${JSON.stringify(ADDON_PATH)});
    const thresholds = ${JSON.stringify(thresholds ?? null)};
    if (thresholds && !addon.setMallocThresholds(thresholds.mmapThresholdBytes, thresholds.trimThresholdBytes))
      throw new Error("mallopt refused the thresholds");
    const before = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 20; i++) {
      Buffer.alloc(40 * 1024 * 1024).fill(1);
      globalThis.gc();
    }
    process.stdout.write(String(process.resourceUsage().minorPageFault - before));`;
  return Number(execFileSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8" }));
}

describe("malloc thresholds", () => {
  it("derive from the retained size: a quarter of it served from the heap, at most 64 MiB", () => {
    expect(mallocThresholds(256)).toEqual({ mmapThresholdBytes: 64 * 1024 * 1024, trimThresholdBytes: 256 * 1024 * 1024 });
    expect(mallocThresholds(16)).toEqual({ mmapThresholdBytes: 4 * 1024 * 1024, trimThresholdBytes: 16 * 1024 * 1024 });
    expect(() => mallocThresholds(0)).toThrow(/mallocRetainMegabytes must be an integer 1\.\.2047 \(got 0\)/);
    expect(() => mallocThresholds(4096)).toThrow(/got 4096/);
  });

  it("let a process reuse the pages of a freed 40 MiB block instead of faulting in fresh ones", () => {
    const defaults = pageFaultsOfLargeAllocations();
    const retained = pageFaultsOfLargeAllocations(mallocThresholds(256));
    // glibc's defaults map each block afresh: 20 × 10 240 pages. Retained: the first block's pages, then reuse.
    expect(defaults).toBeGreaterThan(20 * 10_240 * 0.9);
    expect(retained).toBeLessThan(defaults / 5);
  });
});
