/**
 * The ClickHouse store's modern-server path, which production (24.8) takes and CI's Debian
 * server (18.16) never does: every statement the store issues for a server with LowCardinality
 * and TTL, run on ClickHouse 26.7 in this process (npm `chdb`), with the shared spool-commit and
 * insight suites judging the results against the oracle. What needs a server cluster
 * (ReplicatedMergeTree, Distributed, ON CLUSTER) is not covered here: chdb has no cluster.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChdbConnection } from "../../../test-support/chdb";
import { startCollector } from "../../../test-support/collector/collector-harness";
import { sampleEvent } from "../../../test-support/collector/events";
import { describeInsightSuite } from "../../../test-support/collector/insight-suite";
import { describeSpoolCommits } from "../../../test-support/collector/spool-commit-suite";
import { describeStreamsAcrossBatches } from "../../../test-support/collector/stream-batches-suite";
import { expectWireLinesStoredAsParsed } from "../../../test-support/collector/wire-lines";
import { ClickHouseStore } from "./clickhouse-store";

describe("the ClickHouse store on ClickHouse 26.7 (chdb)", () => {
  let connection: ChdbConnection;
  let store: ClickHouseStore;

  beforeAll(() => {
    connection = new ChdbConnection();
    store = ClickHouseStore.over(connection, { database: "modern" });
  });
  afterAll(async () => store?.close());

  it("takes the modern path (LowCardinality labels, a 400-day TTL) and migrates idempotently", async () => {
    const features = await store.serverFeatures();
    expect(features.version).toMatch(/^26\.7\./);
    expect(features).toMatchObject({ lowCardinality: true, ttl: true });
    expect(await store.migrate()).toBe(6);
    expect(await store.migrate()).toBe(6);
    const [events] = await connection.rows("SHOW CREATE TABLE modern.events");
    const ddl = String(events.statement);
    // The label fields of EVENT_FIELDS are dictionary-encoded; the rest stay plain.
    for (const label of ["type", "region", "device"]) expect(ddl).toContain(`\`${label}\` LowCardinality(String)`);
    expect(ddl).toContain("`track` Nullable(String)");
    expect(ddl).toMatch(/TTL toDateTime\(intDiv\(t, 1000\)\) \+ toIntervalDay\(400\)/);
    expect(ddl).toMatch(/`spool` String DEFAULT ''/);
    const tables = (await connection.rows("SELECT name FROM system.tables WHERE database = 'modern' ORDER BY name")).map((row) => row.name);
    expect(tables).toEqual([
      "events",
      // Kept with its rows, written no more since version 6.
      "minute_rollup",
      "playback_progress",
      "playback_progress_mv",
      "playbacks",
      "playbacks_mv",
      "schema_migrations",
      "session_minutes",
      "session_minutes_mv",
      "sessions",
      "sessions_mv",
      "stream_rows_by_region",
      "stream_rows_by_region_mv",
    ]);
  });

  it("stores wire lines, passed through or re-encoded, as JSON.parse reads them", async () => {
    // Its own database: the next case counts every event.
    const own = ClickHouseStore.over(connection, { database: "wire" });
    await own.migrate();
    await expectWireLinesStoredAsParsed(own, () => connection.rows("SELECT * FROM wire.events"));
  });

  it("fills the aggregates through their materialized views (replays are the spool-commit suite's)", async () => {
    const t = Date.now();
    await store.writeBatch([1, 2, 3].map((n) => sampleEvent({ id: `mv-${n}`, pid: `mv-p${n}`, t: t + n, listened: 31_000 })));
    const count = async (sql: string) => Number((await connection.rows(sql))[0].n);
    expect(await count("SELECT count() AS n FROM modern.minute_rollup")).toBe(0);
    expect(await count("SELECT count() AS n FROM modern.stream_rows_by_region")).toBe(3);
    expect(await count("SELECT uniqExact(pid) AS n FROM modern.playbacks")).toBe(3);
    expect((await store.insights.summary({ from: t, to: t + 10 })).streams).toBe(3);
  });
});

let commits: ClickHouseStore | undefined;
describeSpoolCommits(
  "ClickHouse 26.7 (chdb)",
  async () => (commits = ClickHouseStore.over(new ChdbConnection(), { database: "commits" })),
  async () => commits?.close(),
);

let handoff: ClickHouseStore | undefined;
describeStreamsAcrossBatches(
  "ClickHouse 26.7 (chdb)",
  async () => (handoff = ClickHouseStore.over(new ChdbConnection(), { database: "handoff" })),
  async () => handoff?.close(),
);

const insightsDir = mkdtempSync(join(tmpdir(), "chdb-insights-"));
const onInsights = () => startCollector({}, ClickHouseStore.over(new ChdbConnection(insightsDir), { database: "insights" }));
describeInsightSuite("ClickHouse 26.7 (chdb)", {
  start: onInsights,
  restart: async (previous) => {
    await previous.stop();
    return onInsights();
  },
  stop: async (collector) => {
    await collector.stop();
    rmSync(insightsDir, { recursive: true, force: true });
  },
});
