import { createSocket } from "node:dgram";
import type { Collector } from "../collector";
import { accountedFor, startCollector, waitFor } from "../../../test-support/collector/collector-harness";
import { sampleEvent } from "../../../test-support/collector/events";
import { encodeEvent } from "../client/packer";
import { SourceLimiter } from "./source-limiter";

describe("SourceLimiter", () => {
  const limits = { eventsPerSecond: 10, burst: 20, maxSessionsPerSource: 3, maxSources: 2 };

  it("lets a source burst, then holds it to its rate", () => {
    const limiter = new SourceLimiter(limits);
    const source = limiter.source("10.0.0.1", 0);
    let admitted = 0;
    for (let i = 0; i < 50; i++) if (limiter.admit(source, "s")) admitted++;
    expect(admitted).toBe(20);
    const later = limiter.source("10.0.0.1", 1000);
    let refilled = 0;
    for (let i = 0; i < 50; i++) if (limiter.admit(later, "s")) refilled++;
    expect(refilled).toBe(10);
  });

  it("caps sessions per source and forgets the least recently seen source first", () => {
    const limiter = new SourceLimiter(limits);
    const source = limiter.source("a", 0);
    expect(["1", "2", "3", "4"].map((sid) => limiter.admit(source, sid))).toEqual([true, true, true, false]);
    limiter.source("b", 0);
    limiter.source("a", 1000);
    limiter.source("c", 1001);
    expect(limiter.size).toBe(2);
    expect(limiter.evictions).toBe(1);
    // "b" was the least recently seen, so "a" kept its sessions.
    expect(limiter.admit(limiter.source("a", 1002), "4")).toBe(false);
  });

  it("counts sessions per window, so a long-lived source can keep opening them", () => {
    const limiter = new SourceLimiter({ ...limits, sessionWindowMs: 1000 });
    expect(["1", "2", "3", "4"].map((sid) => limiter.admit(limiter.source("a", 0), sid))).toEqual([true, true, true, false]);
    expect(limiter.admit(limiter.source("a", 1500), "4")).toBe(true);
  });

  it("rejects nonsense settings by name", () => {
    expect(() => new SourceLimiter({ ...limits, burst: 0 })).toThrow(/burst 0 must be at least 1/);
  });
});

describe("per-source limits on a real collector", () => {
  let collector: Collector;
  beforeAll(async () => {
    collector = await startCollector({ sourceEventsPerSecond: 50, sourceBurst: 100, sourceMaxSessions: 1000 });
  });
  afterAll(async () => collector.stop());

  const sendFrom = async (address: string, count: number, prefix: string) => {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
    for (let i = 0; i < count; i++) {
      const payload = encodeEvent(sampleEvent({ id: `${prefix}-${i}`, sid: `${prefix}-s`, t: Date.now() }));
      await new Promise<void>((resolve, reject) =>
        socket.send(payload, collector.udpPort, "127.0.0.1", (error) => (error ? reject(error) : resolve())),
      );
      // Same process as the collector: let it read, or the kernel drops what its buffer cannot hold.
      if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  };

  it("rate-limits a flooding source without affecting another", async () => {
    await sendFrom("127.0.0.2", 400, "flooder");
    await waitFor(() => collector.stats.events >= 400, 5_000, "400 events");
    await accountedFor(collector);
    const limited = collector.stats.rejectedEvents.rate_limited;
    expect(limited).toBeGreaterThanOrEqual(250);
    expect(collector.stats.accepted).toBe(400 - limited);
    await sendFrom("127.0.0.3", 50, "polite");
    await waitFor(() => collector.stats.events >= 450, 5_000, "450 events");
    expect(collector.stats.rejectedEvents.rate_limited).toBe(limited);
  });
});
