/**
 * A garbage flood (100 000 datagrams, paced at 20 000/s) against a real collector process with
 * default settings, while a legitimate client sends too: no crash, bounded memory, nothing legitimate lost.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { UdpEventClient } from "./client/udp-client";
import { sampleEvent } from "../../test-support/collector/events";
import { compileCollector, spawnCollector } from "../../test-support/collector-process";

const RSS_BOUND_BYTES = 384 * 1024 * 1024;
const FLOOD_SECONDS = 5;
const FLOOD_DATAGRAMS_PER_SECOND = 20_000;

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

// The compiled collector, as the image runs it: ts-node's compiler would inflate the RSS measured.
const DIST = join(__dirname, "..", "dist-flood");

describe("garbage flood", () => {
  beforeAll(() => {
    compileCollector(DIST);
  }, 60_000);

  it(`keeps RSS under 384 MiB and accepts the legitimate events sent meanwhile`, async () => {
    const collector = await spawnCollector({
      duckdbPath: ":memory:",
      compiled: DIST,
      args: ["--recv-buffer-bytes", "4194304", "--log-level", "warn"],
    });
    const { udpPort, base } = collector;
    try {
      const flood = createSocket("udp4");
      const legit = new UdpEventClient({ host: "127.0.0.1", port: udpPort });
      let maxRss = 0;
      let garbage = 0;
      let legitSent = 0;
      // The whole flood, paced at its rate; on a slow shared box it takes longer rather than shrinking.
      const deadline = Date.now() + 6 * FLOOD_SECONDS * 1000;
      while (garbage < FLOOD_SECONDS * FLOOD_DATAGRAMS_PER_SECOND && Date.now() < deadline) {
        const tickStart = Date.now();
        for (let i = 0; i < FLOOD_DATAGRAMS_PER_SECOND / 20; i++) {
          // Unique garbage: random bytes, and valid-looking events with fresh ids and sessions.
          const payload =
            i % 2
              ? randomBytes(200)
              : Buffer.from(
                  JSON.stringify(
                    sampleEvent({
                      id: randomBytes(12).toString("hex"),
                      sid: randomBytes(8).toString("hex"),
                      t: Date.now(),
                      region: "flood",
                    }),
                  ),
                );
          flood.send(payload, udpPort, "127.0.0.1");
          garbage++;
        }
        await legit.send([
          sampleEvent({ id: `legit-${legitSent}`, pid: `legit-p${legitSent}`, t: Date.now(), region: "legit", listened: 31_000 }),
        ]);
        legitSent++;
        const metrics = await (await fetch(`${base}/metrics`)).text();
        maxRss = Math.max(maxRss, metric(metrics, "process_resident_memory_bytes"));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (Date.now() - tickStart))));
      }
      flood.close();
      await legit.close();
      let streams = 0;
      for (let attempt = 0; attempt < 50 && streams < legitSent; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const to = Date.now();
        streams = ((await (await fetch(`${base}/api/v1/summary?region=legit&from=${to - 600_000}&to=${to}`)).json()) as { streams: number })
          .streams;
      }
      const quality = (await (await fetch(`${base}/api/v1/quality?from=0&to=1`)).json()) as { received: { datagrams: number } };
      // The kernel may drop datagrams of a flood; what arrived must be accounted for.
      console.log(`flood: sent ${garbage + legitSent} datagrams, the collector received ${quality.received.datagrams}`);
      expect(collector.child.exitCode).toBeNull();
      expect(garbage).toBeGreaterThan(FLOOD_SECONDS * FLOOD_DATAGRAMS_PER_SECOND * 0.5);
      expect(streams).toBe(legitSent);
      expect(maxRss).toBeGreaterThan(0);
      expect(maxRss).toBeLessThan(RSS_BOUND_BYTES);
      console.log(
        `flood: ${garbage} garbage datagrams, ${legitSent} legitimate events all stored, max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
      );
    } finally {
      collector.child.kill("SIGTERM");
      await collector.exited;
    }
    expect(collector.output()).not.toMatch(/Error|FATAL/);
  }, 90_000);
});
