/**
 * Collector → ClickHouse partitioned for 30 s mid-stream, for real: the collector and
 * clickhouse-server each run in a network namespace this test creates (and always removes),
 * and nftables in the collector's namespace drops every packet to and from the server, so
 * connections hang (no reset) as they do when a switch or a node goes away.
 */
import { join } from "node:path";
import { startClickHouse, type RunningClickHouse } from "../../test-support/clickhouse";
import { spawnCollector, type CollectorProcess } from "../../test-support/collector-process";
import { NetnsLab } from "../../test-support/netns";
import { describeWithTool, requireRoot, requireTool } from "../../test-support/tools";
import { EventStream } from "../../test-support/collector/event-stream";
import { metric, quality, settled } from "../../test-support/collector/durability";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const ip = requireTool("ip", "apt-get install iproute2");
const nft = requireTool("nft", "apt-get install nftables");
const clickhouse = requireTool("clickhouse-server", "apt-get install clickhouse-server");
const isRoot = requireRoot("the store-partition test", "for network namespaces");

const HOST_TO_COLLECTOR = "10.233.1.1";
const COLLECTOR = "10.233.1.2";
const COLLECTOR_SIDE = "10.233.2.1";
const STORE = "10.233.2.2";
const HOST_TO_STORE = "10.233.3.1";
const STORE_FOR_TEST = "10.233.3.2";
const PARTITION_MS = 30_000;
/** The collector's default spoolReadyMaxRatio. */
const READY_MAX_RATIO = 0.9;
const SPOOL_MAX_BYTES = 6 * 1024 * 1024;

interface Sample {
  at: number;
  fill: number;
  ready: boolean;
  reason?: string;
}

describeWithTool(ip && nft && clickhouse && isRoot ? "yes" : undefined)(
  "ClickHouse partitioned from the collector for 30 s (nftables in namespaces)",
  () => {
    const prefix = `ssp${process.pid}`;
    const lab = new NetnsLab(prefix);
    const dir = mkdtempSync(join(tmpdir(), "partition-"));
    let collectorNs: string;
    let server: RunningClickHouse;
    let collector: CollectorProcess;

    const partition = {
      begin: () => {
        const file = join(dir, "partition.nft");
        writeFileSync(
          file,
          `table inet partition {
  chain out { type filter hook output priority 0; policy accept; ip daddr ${STORE} counter drop; }
  chain in { type filter hook input priority 0; policy accept; ip saddr ${STORE} counter drop; }
}
`,
        );
        lab.exec(collectorNs, ["nft", "-f", file]);
      },
      droppedPackets: () =>
        [...lab.exec(collectorNs, ["nft", "list", "table", "inet", "partition"]).matchAll(/counter packets (\d+)/g)].reduce(
          (sum, match) => sum + Number(match[1]),
          0,
        ),
      end: () => void lab.exec(collectorNs, ["nft", "delete", "table", "inet", "partition"]),
    };

    beforeAll(async () => {
      collectorNs = lab.addNamespace("collector");
      const storeNs = lab.addNamespace("store");
      const tag = process.pid % 100000;
      lab.linkToHost(
        { ifname: `sspc${tag}`, address: `${HOST_TO_COLLECTOR}/24` },
        { ns: collectorNs, ifname: "k0", address: `${COLLECTOR}/24` },
      );
      lab.link({ ns: collectorNs, ifname: "k1", address: `${COLLECTOR_SIDE}/24` }, { ns: storeNs, ifname: "s0", address: `${STORE}/24` });
      lab.linkToHost(
        { ifname: `ssps${tag}`, address: `${HOST_TO_STORE}/24` },
        { ns: storeNs, ifname: "s1", address: `${STORE_FOR_TEST}/24` },
      );
      server = await startClickHouse(clickhouse!, {
        netns: storeNs,
        listenHost: "0.0.0.0",
        urlHost: STORE_FOR_TEST,
        clientNetwork: "10.233.0.0/16",
      });
      collector = await spawnCollector({
        duckdbPath: ":memory:",
        netns: collectorNs,
        udpHost: COLLECTOR,
        udpPort: 9000,
        httpHost: COLLECTOR,
        httpPort: 8080,
        args: [
          ...["--store", "clickhouse", "--clickhouse-url", `http://${STORE}:8123`, "--clickhouse-database", "partition"],
          ...["--store-retry-base-ms", "100", "--spool-max-bytes", String(SPOOL_MAX_BYTES), "--spool-segment-bytes", String(512 * 1024)],
          ...["--log-level", "warn"],
        ],
      });
    }, 90_000);

    afterAll(async () => {
      if (collector?.child.exitCode === null) collector.child.kill("SIGKILL");
      await server?.stop();
      lab.cleanup();
      expect(NetnsLab.existing(prefix)).toEqual([]);
    });

    it("keeps spooling, turns unready only at the spool threshold, and stores every accepted event exactly once afterwards", async () => {
      const stream = new EventStream(9000, "partition", 10, 10, COLLECTOR);
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const sample = async (): Promise<Sample> => {
        // Fill first, readiness second: while partitioned the spool only grows, so a "ready"
        // answer means the fill was below the threshold at the earlier reading too.
        const { spool } = await quality(collector.base);
        const response = await fetch(`${collector.base}/readyz`);
        const body = (await response.json()) as { reason?: string };
        return { at: Date.now(), fill: spool.diskBytes / spool.maxBytes, ready: response.status === 200, reason: body.reason };
      };
      try {
        stream.start();
        await sleep(2_000);
        const before = await quality(collector.base);
        expect(before.stored).toBeGreaterThan(0);
        expect(before.spool.diskBytes / before.spool.maxBytes).toBeLessThan(0.5);

        partition.begin();
        const samples: Sample[] = [];
        const partitionedAt = Date.now();
        while (Date.now() - partitionedAt < PARTITION_MS) {
          samples.push(await sample());
          await sleep(250);
        }
        // The ingest counts stay available: the store's part gives up instead of hanging with the connection.
        const asked = Date.now();
        const during = await quality(collector.base);
        const qualityMs = Date.now() - asked;
        expect(qualityMs).toBeLessThan(10_000);
        expect((during as unknown as { regions: unknown }).regions).toBeNull();
        const storeErrors = await metric(collector.base, "collector_store_errors_total");
        const dropped = partition.droppedPackets();
        partition.end();

        // Ingest went on: the spool grew and events were accepted while nothing could be stored.
        expect(during.accepted - before.accepted).toBeGreaterThan(0);
        expect(during.accepted).toBeGreaterThan(during.stored);
        expect(storeErrors).toBeGreaterThan(0);
        // Ready while the spool had room, unready once it reached the threshold, never earlier.
        const ready = samples.filter((s) => s.ready);
        const unready = samples.filter((s) => !s.ready);
        expect(ready.length).toBeGreaterThan(0);
        expect(unready.length).toBeGreaterThan(0);
        for (const s of ready) expect(s.fill).toBeLessThan(READY_MAX_RATIO);
        for (const s of unready)
          expect(Number(/spool (\d+(?:\.\d+)?)% full/.exec(s.reason ?? "")?.[1])).toBeGreaterThanOrEqual(READY_MAX_RATIO * 100);
        // Readiness does not flap back while the partition lasts.
        expect(samples.findIndex((s) => !s.ready)).toBe(ready.length);
        expect(dropped).toBeGreaterThan(0);

        // Recovery: the backlog drains and readiness returns.
        await sleep(2_000);
        stream.stop();
        const final = await settled(collector.base, 90_000);
        const readyAgain = await fetch(`${collector.base}/readyz`);
        expect(readyAgain.status).toBe(200);
        expect(final.received.events).toBe(stream.sent);
        // A full spool refuses new events as overload; every accepted one is kept.
        expect(final.accepted + (final.rejected.events.overload ?? 0)).toBe(stream.sent);
        expect(final.stored).toBe(final.accepted);
        // Counted by ClickHouse itself: every accepted event once, including a batch whose reply the partition swallowed.
        const response = await fetch(`${server.url}/?query=${encodeURIComponent("SELECT count(), uniqExact(id) FROM partition.events")}`);
        expect((await response.text()).trim()).toBe(`${final.accepted}\t${final.accepted}`);
        const firstUnready = unready[0];
        console.log(
          `partition: ${stream.sent} sent, ${during.accepted - before.accepted} accepted during ${PARTITION_MS / 1000} s of partition ` +
            `(${(firstUnready.at - partitionedAt) / 1000} s to unready at ${(firstUnready.fill * 100).toFixed(1)} % fill), ` +
            `${final.rejected.events.overload ?? 0} refused as overload, ${final.accepted} stored once each; ${storeErrors} store errors, ` +
            `${dropped} packets dropped by the partition, quality answered in ${qualityMs} ms during it`,
        );
      } finally {
        stream.close();
      }
    }, 240_000);
  },
);
