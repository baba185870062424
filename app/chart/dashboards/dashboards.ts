/**
 * The chart's Grafana dashboards, generated so that their queries come from one place: the
 * collector health dashboard's PromQL is declared here once (and checked against a real
 * Prometheus), and the insights dashboard's SQL is the ClickHouse store's own insight SQL
 * (app/src/store/clickhouse-insights.ts) with its placeholders rendered as Grafana variables.
 * `npm run dashboards` writes the JSON files beside this one; a test fails when they are stale.
 *
 * Grafana's own variables used: ${__from} and ${__to} (the panel's range in epoch milliseconds),
 * ${var:sqlstring} (a value quoted as an SQL string). The ClickHouse data source's macro
 * $__conditionalAll(condition, $var) becomes 1=1 when every value is selected
 * (grafana/clickhouse-datasource README, "Macros").
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { clickHouseInsightSql as insightSql } from "../../src/store/clickhouse-insights";
import { clickHouseMinuteOf } from "../../src/store/clickhouse-store";
import type { Fragment } from "../../src/store/insight-statements";

/** Replaced by the chart per release (templates/dashboards.yaml). */
export const PLACEHOLDERS = { uid: "__UID__", namespace: "__NAMESPACE__" } as const;

// ---------------------------------------------------------------------------------------------
// Collector health (Prometheus)

/** One PromQL target; `$namespace`, `$pod` and `$__rate_interval` are Grafana's to fill. */
export interface PromQuery {
  readonly expr: string;
  readonly legend: string;
}

const scope = 'namespace="$namespace", pod=~"$pod"';
const rate = (metric: string, extra = "") => `rate(${metric}{${scope}${extra}}[$__rate_interval])`;

/** The collector health dashboard's panels: rates, rejections by reason, loss, spool, store latency. */
export const COLLECTOR_PANELS: ReadonlyArray<{ title: string; unit: string; queries: readonly PromQuery[]; description: string }> = [
  {
    title: "Events per second",
    unit: "ops",
    description: "Received from players, accepted into the spool, and stored.",
    queries: [
      { expr: `sum(${rate("collector_events_received_total")})`, legend: "received" },
      { expr: `sum(${rate("collector_events_accepted_total")})`, legend: "accepted" },
      { expr: `sum(${rate("collector_events_stored_total")})`, legend: "stored" },
    ],
  },
  {
    title: "Datagrams and kernel drops per second",
    unit: "pps",
    description: "Datagrams read from the UDP socket, and those the kernel dropped because the socket's buffer was full.",
    queries: [
      { expr: `sum(${rate("collector_datagrams_received_total")})`, legend: "received" },
      { expr: `sum by (pod) (${rate("collector_udp_receive_drops_total")})`, legend: "dropped {{pod}}" },
    ],
  },
  {
    title: "Rejected events per second, by reason",
    unit: "ops",
    description: "Events that arrived and were refused (duplicates are retransmissions).",
    queries: [{ expr: `sum by (reason) (${rate("collector_events_rejected_total")}) > 0`, legend: "{{reason}}" }],
  },
  {
    title: "Estimated loss by region",
    unit: "percentunit",
    description: "Share of events missing from the sessions' sequence gaps over the last 15 minutes.",
    queries: [{ expr: `max by (region) (collector_estimated_loss_ratio{${scope}})`, legend: "{{region}}" }],
  },
  {
    title: "Spool backlog",
    unit: "bytes",
    description: "Spooled bytes the store does not hold yet, per pod.",
    queries: [{ expr: `max by (pod) (collector_spool_backlog_bytes{${scope}})`, legend: "{{pod}}" }],
  },
  {
    title: "Spool fill",
    unit: "percentunit",
    description: "Spool bytes on disk against spool.maxBytes; readiness turns false at spoolReadyMaxRatio.",
    queries: [{ expr: `max by (pod) (collector_spool_bytes{${scope}} / collector_spool_max_bytes{${scope}})`, legend: "{{pod}}" }],
  },
  {
    title: "Store write latency",
    unit: "s",
    description: "Time to write one batch to the store.",
    queries: [
      { expr: `histogram_quantile(0.5, sum by (le) (${rate("collector_flush_duration_seconds_bucket")}))`, legend: "p50" },
      { expr: `histogram_quantile(0.99, sum by (le) (${rate("collector_flush_duration_seconds_bucket")}))`, legend: "p99" },
    ],
  },
  {
    // The consumer writes one batch at a time, so the seconds spent writing per second are the
    // store's busy share. An event waits for the write before its own and for its own, and those
    // writes lengthen as the share nears 1: visibility suffers before any backlog shows.
    title: "Store busy share",
    unit: "percentunit",
    description: "Share of the time each pod spends writing to its store. Near 100 %, writes lengthen and events take longer to show.",
    queries: [{ expr: `max by (pod) (${rate("collector_flush_duration_seconds_sum")})`, legend: "{{pod}}" }],
  },
  {
    title: "Store write errors",
    unit: "short",
    description: "Failed batch writes (retried from the spool).",
    queries: [{ expr: `sum by (pod) (increase(collector_store_errors_total{${scope}}[$__rate_interval]))`, legend: "{{pod}}" }],
  },
  {
    title: "Ready and store thread alive",
    unit: "short",
    description: "1 when ready / alive, per pod.",
    queries: [
      { expr: `min by (pod) (collector_ready{${scope}})`, legend: "ready {{pod}}" },
      { expr: `min by (pod) (collector_store_alive{${scope}})`, legend: "store alive {{pod}}" },
    ],
  },
  {
    title: "Dedupe table fill",
    unit: "percentunit",
    description: "Ids held against dedupeMaxEntries; evictions mean duplicates may get through.",
    queries: [{ expr: `max by (pod) (collector_dedupe_entries{${scope}} / collector_dedupe_max_entries{${scope}})`, legend: "{{pod}}" }],
  },
];

const PROMETHEUS = { type: "prometheus", uid: "${prometheus}" };

/** What every dashboard of the chart shares: a uid and title per namespace, tags, refresh, range. */
function dashboardFrame(title: string, refresh: string, from: string) {
  return {
    uid: PLACEHOLDERS.uid,
    title: `${title} (${PLACEHOLDERS.namespace})`,
    tags: ["streamstats"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    refresh,
    time: { from, to: "now" },
  };
}

function collectorDashboard(): object {
  return {
    ...dashboardFrame("Streamstats collector", "30s", "now-1h"),
    templating: {
      list: [
        { name: "prometheus", label: "Prometheus", type: "datasource", query: "prometheus" },
        { name: "namespace", type: "constant", query: PLACEHOLDERS.namespace, hide: 2 },
        {
          name: "pod",
          type: "query",
          datasource: PROMETHEUS,
          definition: 'label_values(collector_events_received_total{namespace="$namespace"}, pod)',
          query: { query: 'label_values(collector_events_received_total{namespace="$namespace"}, pod)', refId: "pods" },
          includeAll: true,
          allValue: ".*",
          multi: true,
          refresh: 2,
        },
      ],
    },
    panels: COLLECTOR_PANELS.map((panel, index) => ({
      id: index + 1,
      type: "timeseries",
      title: panel.title,
      description: panel.description,
      datasource: PROMETHEUS,
      gridPos: { h: 8, w: 12, x: (index % 2) * 12, y: Math.floor(index / 2) * 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      targets: panel.queries.map((query, q) => ({
        refId: String.fromCharCode(65 + q),
        datasource: PROMETHEUS,
        expr: query.expr,
        legendFormat: query.legend,
      })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Listening insights (ClickHouse)

/** Placeholders of the insight SQL, as Grafana variables (ranges in epoch ms, like `t`). */
const RANGE: Record<string, string> = {
  from: "${__from}",
  to: "${__to}",
  previousFrom: "(2 * ${__from} - ${__to})",
  since: "(${__to} - 60000)",
  at: "${__to}",
};
const FILTERS = ["region", "device"] as const;
const FILTERED = Object.fromEntries(FILTERS.map((name) => [name, `\u0000${name}`]));
const anyWindow = { from: 0, to: 0, ...FILTERED };

/** The stores' insight SQL with its placeholders as Grafana variables and macros. */
export function grafanaSql(fragment: Fragment): string {
  let sql = fragment.sql;
  for (const name of FILTERS) {
    if (!(name in fragment.params)) continue;
    // The column may be a store's own name for the field (first_region for region).
    const clause = new RegExp(`\\b(\\w+) = \\{${name}\\}`, "g");
    if (!clause.test(sql)) throw new Error(`insight SQL has no filter on {${name}}: ${sql}`);
    sql = sql.replace(clause, (_match, column: string) => `$__conditionalAll(${column} = \${${name}:sqlstring}, $${name})`);
  }
  return sql
    .replace(/\{(\w+)\}/g, (_match, name: string) => {
      const value = RANGE[name];
      if (value === undefined) throw new Error(`insight SQL: no Grafana variable for {${name}}`);
      return value;
    })
    .replace(/\s+/g, " ")
    .trim();
}

/** What each insights panel shows, with the columns the oracle checks; keys name the panels. */
export const INSIGHT_PANELS = {
  streams: {
    title: "Streams and listeners",
    type: "stat",
    sql: grafanaSql(insightSql.streams(anyWindow)),
  },
  plays: {
    title: "Plays started, skip and completion rate",
    type: "stat",
    sql: `SELECT started, skipped / started AS skip_rate, completed / started AS completion_rate FROM (${grafanaSql(insightSql.plays(anyWindow))})`,
  },
  experience: {
    title: "Buffering ratio and rebuffers per hour",
    type: "stat",
    sql:
      `SELECT stalls.stall / listened.listened AS buffering_ratio, stalls.buffer_ends / (listened.listened / 3600000) AS rebuffers_per_hour` +
      ` FROM (${grafanaSql(insightSql.stalls(anyWindow))}) AS stalls CROSS JOIN (${grafanaSql(insightSql.listened(anyWindow))}) AS listened`,
  },
  concurrent: {
    title: "Listeners now (active in the last minute of the range)",
    type: "stat",
    sql: grafanaSql(insightSql.concurrent(0, FILTERED)),
  },
  streamsPerMinute: {
    title: "Streams per minute",
    type: "timeseries",
    sql: `SELECT toDateTime(intDiv(minute, 1000)) AS time, n AS streams FROM (${grafanaSql(insightSql.streamsPerMinute(anyWindow, clickHouseMinuteOf))}) ORDER BY time`,
  },
  topTracks: { title: "Top tracks", type: "table", sql: grafanaSql(insightSql.top(anyWindow, "track", 20)) },
  topArtists: { title: "Top artists", type: "table", sql: grafanaSql(insightSql.top(anyWindow, "artist", 20)) },
  trendingTracks: {
    title: "Trending tracks (against the range before)",
    type: "table",
    sql: grafanaSql(insightSql.trending(anyWindow, "track", 20)),
  },
  lossByRegion: {
    title: "Loss by region (sequence gaps)",
    type: "table",
    sql: `SELECT region, expected, received, (expected - received) / expected AS loss FROM (${grafanaSql(insightSql.quality(anyWindow))}) ORDER BY region`,
  },
} as const;
export type InsightPanel = keyof typeof INSIGHT_PANELS;

const CLICKHOUSE = { type: "grafana-clickhouse-datasource", uid: "${clickhouse}" };
/** The name of the environment's ClickHouse data source (provisioned by the analytics stack). */
export const CLICKHOUSE_DATASOURCE_NAME = `ClickHouse ${PLACEHOLDERS.namespace}`;

/** Left to right, wrapping at Grafana's 24 columns. */
function flowLayout(sizes: ReadonlyArray<{ w: number; h: number }>): Array<{ x: number; y: number; w: number; h: number }> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return sizes.map(({ w, h }) => {
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const position = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return position;
  });
}
const INSIGHT_UNITS: Partial<Record<InsightPanel, string>> = { experience: "short", lossByRegion: "percentunit" };

function insightsDashboard(): object {
  const variable = (name: string, sql: string) => ({
    name,
    type: "query",
    datasource: CLICKHOUSE,
    definition: sql,
    query: sql,
    includeAll: true,
    multi: false,
    refresh: 2,
    sort: 1,
  });
  const panels = Object.entries(INSIGHT_PANELS) as Array<[InsightPanel, (typeof INSIGHT_PANELS)[InsightPanel]]>;
  const layout = flowLayout(panels.map(([, panel]) => (panel.type === "stat" ? { w: 6, h: 5 } : { w: 12, h: 9 })));
  return {
    ...dashboardFrame("Streamstats listening", "1m", "now-6h"),
    templating: {
      list: [
        {
          name: "clickhouse",
          label: "ClickHouse",
          type: "datasource",
          query: "grafana-clickhouse-datasource",
          regex: `/^${CLICKHOUSE_DATASOURCE_NAME}$/`,
        },
        variable("region", grafanaSql(insightSql.regions({ from: 0, to: 0 }))),
        variable("device", "SELECT DISTINCT device FROM events WHERE t >= ${__from} AND t < ${__to} ORDER BY device"),
      ],
    },
    panels: panels.map(([key, panel], index) => ({
      id: index + 1,
      type: panel.type,
      title: panel.title,
      datasource: CLICKHOUSE,
      gridPos: layout[index],
      fieldConfig: { defaults: { unit: INSIGHT_UNITS[key] ?? "short" }, overrides: [] },
      targets: [
        {
          refId: "A",
          datasource: CLICKHOUSE,
          editorType: "sql",
          queryType: panel.type === "timeseries" ? "timeseries" : "table",
          format: panel.type === "timeseries" ? 0 : 1,
          rawSql: panel.sql,
        },
      ],
    })),
  };
}

export const DASHBOARDS = { "collector-health": collectorDashboard, "listening-insights": insightsDashboard } as const;

/** The files `npm run dashboards` writes, by name. */
export function renderDashboards(): Record<string, string> {
  return Object.fromEntries(Object.entries(DASHBOARDS).map(([name, build]) => [`${name}.json`, `${JSON.stringify(build(), null, 2)}\n`]));
}

if (require.main === module) {
  for (const [file, text] of Object.entries(renderDashboards())) writeFileSync(join(__dirname, file), text);
}
