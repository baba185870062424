import { STREAM_THRESHOLD_MS } from "../protocol/event";
import { filterSql, insightStatements, inWindow, windowed, type InsightStatements } from "./insight-statements";

/**
 * The ClickHouse store's insights read what a window needs, not the whole history. The shared
 * SQL (insight-statements.ts) looks up each playback's and session's whole life (its first
 * stream, a skip or completion at any time, listening before the window, every seq); over a
 * table ordered by time those lookups scan all of history. Here materialized views keep, at
 * insert time, one aggregate row per playback and per session, keyed so that the window's
 * playbacks and sessions are found through the primary key (`pid IN (…)`, `sid IN (…)`):
 *
 * - `stream_rows` (ORDER BY at, pid): per insert block, each playback's first qualifying event in
 *   the block. A window reads its own rows, and keeps a playback only where its first row in the
 *   window is its first ever (`playbacks.first_stream_t`), so a playback whose qualifying events
 *   arrive in several batches, or through several collector pods, counts once, where it began.
 * - `playbacks` (ORDER BY pid, …): first qualifying time, early skip and completion flags.
 * - `playback_progress` (ORDER BY pid, minute, …): the highest `listened` per playback and minute,
 *   for the listening before a window (the window's own first minute is read from the events).
 * - `sessions` (ORDER BY sid, …): the lowest region, the highest seq and the distinct seqs (loss),
 *   and when the session ended (concurrent listeners).
 *
 * Every state is min, max, argMin or uniqExact: folding a row in twice changes nothing, so the
 * backfill and a replayed insert are harmless. The plain columns (sid, the day that partitions
 * and expires the rows) are in the sorting key after the entity (26.x refuses them outside it);
 * a playback crossing midnight keeps two rows, which the queries merge. Events are sharded by sid and a playback lives in
 * one session, so each shard's aggregates are complete for its own sids and pids.
 */
export interface EntityTableOptions {
  readonly database: string;
  readonly cluster?: string;
  /** The label column type (LowCardinality(String) where the server has it). */
  readonly label: string;
  /** Add the events' 400-day retention to the aggregates too. */
  readonly ttl: boolean;
}

const qualifies = `ifNull(listened, 0) >= ${STREAM_THRESHOLD_MS}`;

/** Version 3 of the schema: the aggregate tables, their views, and a backfill from what is stored. */
export function clickHouseEntityTables(options: EntityTableOptions): string[] {
  const { database: db, cluster, label } = options;
  const onCluster = cluster ? ` ON CLUSTER ${cluster}` : "";
  const local = (table: string) => (cluster ? `${table}_local` : table);
  const events = local("events");
  const engine = (table: string, kind: "MergeTree" | "AggregatingMergeTree") =>
    cluster ? `Replicated${kind}('/clickhouse/tables/{shard}/${db}/${table}', '{replica}')` : `${kind}()`;
  const retention = (day: string) => (options.ttl ? `\n    TTL ${day} + INTERVAL 400 DAY` : "");
  // Sharded by sid like the events, so a backfill through them lands beside each session's events.
  const distributed = (table: string) =>
    cluster
      ? [
          `CREATE TABLE IF NOT EXISTS ${db}.${table}${onCluster} AS ${db}.${local(table)} ENGINE = Distributed(${cluster}, ${db}, ${local(table)}, cityHash64(sid))`,
        ]
      : [];
  // Each view reads the events directly: ClickHouse 18.16 loses a subquery's columns while
  // pushing a block to a view over it ("Unknown identifier"). An alias named like a column means
  // that column inside its own expression, and the alias everywhere else: \`pid\` in WHERE is
  // ifNull(pid, ''), which leaves NULL pids out. No alias is named \`t\`, which the aggregates read.
  const from = `${db}.${events}`;
  const views = {
    stream_rows: `SELECT ifNull(pid, '') AS pid, any(sid) AS sid, argMin(uid, t) AS uid, argMin(track, t) AS track, argMin(artist, t) AS artist,
        argMin(region, t) AS region, argMin(device, t) AS device, argMin(source, t) AS source, min(t) AS at
      FROM ${from} WHERE pid != '' AND ${qualifies} GROUP BY pid`,
    playbacks: `SELECT ifNull(pid, '') AS pid, any(sid) AS sid, toDate(toDateTime(intDiv(min(t), 1000))) AS day,
        minIfState(t, ${qualifies}) AS first_stream_t,
        maxState(toUInt8(type = 'skip' AND ifNull(listened, 0) < ${STREAM_THRESHOLD_MS})) AS skipped,
        maxState(toUInt8(type = 'complete')) AS completed
      FROM ${from} WHERE pid != '' GROUP BY pid`,
    playback_progress: `SELECT ifNull(pid, '') AS pid, any(sid) AS sid, intDiv(t, 60000) * 60000 AS minute,
        maxState(ifNull(listened, 0)) AS listened_max
      FROM ${from} WHERE pid != '' GROUP BY pid, minute`,
    sessions: `SELECT sid, toDate(toDateTime(intDiv(min(t), 1000))) AS day, minState(toString(region)) AS region_min, maxState(seq) AS seq_max,
        uniqExactState(seq) AS seqs, minIfState(t, type = 'session_end') AS ended_at
      FROM ${from} GROUP BY sid`,
  };
  const tables = {
    stream_rows: `(pid String, sid String, uid String, track Nullable(String), artist Nullable(String), region ${label}, device ${label},
        source Nullable(String), at Int64)
      ENGINE = ${engine(local("stream_rows"), "MergeTree")}
      PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000)))
      ORDER BY (at, pid)${retention("toDateTime(intDiv(at, 1000))")}`,
    playbacks: `(pid String, sid String, day Date, first_stream_t AggregateFunction(minIf, Int64, UInt8),
        skipped AggregateFunction(max, UInt8), completed AggregateFunction(max, UInt8))
      ENGINE = ${engine(local("playbacks"), "AggregatingMergeTree")}
      PARTITION BY toYYYYMM(day) ORDER BY (pid, sid, day)${retention("day")}`,
    playback_progress: `(pid String, sid String, minute Int64, listened_max AggregateFunction(max, Int64))
      ENGINE = ${engine(local("playback_progress"), "AggregatingMergeTree")}
      PARTITION BY toYYYYMM(toDateTime(intDiv(minute, 1000))) ORDER BY (pid, minute, sid)${retention("toDateTime(intDiv(minute, 1000))")}`,
    sessions: `(sid String, day Date, region_min AggregateFunction(min, String), seq_max AggregateFunction(max, Int64),
        seqs AggregateFunction(uniqExact, Int64), ended_at AggregateFunction(minIf, Int64, UInt8))
      ENGINE = ${engine(local("sessions"), "AggregatingMergeTree")}
      PARTITION BY toYYYYMM(day) ORDER BY (sid, day)${retention("day")}`,
  };
  const statements: string[] = [];
  for (const [table, definition] of Object.entries(tables)) {
    statements.push(`CREATE TABLE IF NOT EXISTS ${db}.${local(table)}${onCluster} ${definition}`);
    statements.push(...distributed(table));
  }
  for (const [table, select] of Object.entries(views)) {
    statements.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${table}_mv${onCluster} TO ${db}.${local(table)} AS ${select}`);
  }
  // What was stored before the views existed. On a cluster the backfill reads the Distributed
  // events and writes through the Distributed tables, which route each row to its sid's shard.
  for (const [table, select] of Object.entries(views)) {
    const source = cluster ? select.split(from).join(`${db}.events`) : select;
    statements.push(`INSERT INTO ${db}.${table} ${source}`);
  }
  return statements;
}

/**
 * A window's streams, read from stream_rows and kept where they are the playback's first. The
 * filters apply before the grouping, which is exact: a playback's stream has the region, device
 * and source of its first qualifying event, so where that event (the first row of its first
 * batch) does not match, the playback's first matching row is later than its first stream and
 * fails the first-stream check. A filtered query then reads only its own playbacks.
 */
const streamsIn = (from: string, to: string, filters: string) => `(
  SELECT pid, first_uid AS uid, first_track AS track, first_artist AS artist, first_region AS region, first_device AS device,
         first_source AS source, first_t AS t
  FROM (
    SELECT pid, argMin(uid, at) AS first_uid, argMin(track, at) AS first_track, argMin(artist, at) AS first_artist,
           argMin(region, at) AS first_region, argMin(device, at) AS first_device, argMin(source, at) AS first_source, min(at) AS first_t
    FROM stream_rows WHERE at >= ${from} AND at < ${to}${filters} GROUP BY pid
  )
  WHERE (pid, first_t) IN (
    SELECT pid, minIfMerge(first_stream_t) FROM playbacks
    WHERE pid IN (SELECT pid FROM stream_rows WHERE at >= ${from} AND at < ${to}${filters}) GROUP BY pid
  )
) AS streams`;

const shared = insightStatements(streamsIn);

/** The insight statements for ClickHouse: the shared ones over `streamsIn`, and the lookups by key. */
export const clickHouseInsightSql: InsightStatements = {
  ...shared,

  plays: (q) =>
    windowed(
      q,
      (f) => `
      SELECT count(*) AS started, coalesce(sum(was_skipped), 0) AS skipped, coalesce(sum(was_completed), 0) AS completed
      FROM (
        SELECT pid, maxMerge(skipped) AS was_skipped, maxMerge(completed) AS was_completed FROM playbacks
        WHERE pid IN (SELECT DISTINCT assumeNotNull(pid) FROM events WHERE type = 'play' AND pid IS NOT NULL AND ${inWindow}${f})
        GROUP BY pid
      ) plays`,
    ),

  listened: (q) =>
    windowed(
      q,
      (f) => `
      SELECT coalesce(sum(CASE WHEN inside > before THEN inside - before ELSE 0 END), 0) AS listened
      FROM (
        SELECT p, max(inside_part) AS inside, max(before_part) AS before FROM (
          SELECT assumeNotNull(pid) AS p, ifNull(listened, 0) AS inside_part, toInt64(0) AS before_part
          FROM events WHERE pid IS NOT NULL AND ${inWindow}
          UNION ALL
          SELECT assumeNotNull(pid) AS p, toInt64(0) AS inside_part, ifNull(listened, 0) AS before_part
          FROM events WHERE pid IS NOT NULL AND t >= intDiv({from}, 60000) * 60000 AND t < {from}
          UNION ALL
          SELECT pid AS p, toInt64(0) AS inside_part, maxMerge(listened_max) AS before_part
          FROM playback_progress WHERE minute < intDiv({from}, 60000) * 60000
            AND pid IN (SELECT DISTINCT assumeNotNull(pid) FROM events WHERE pid IS NOT NULL AND ${inWindow}${f})
          GROUP BY pid
        )
        WHERE p IN (SELECT DISTINCT assumeNotNull(pid) FROM events WHERE pid IS NOT NULL AND ${inWindow}${f})
        GROUP BY p
      ) playbacks`,
    ),

  quality: (q) =>
    windowed(
      q,
      (f) => `
      SELECT region, sum(expected) AS expected, sum(received) AS received FROM (
        SELECT sid, minMerge(region_min) AS region, maxMerge(seq_max) AS expected, uniqExactMerge(seqs) AS received FROM sessions
        WHERE sid IN (SELECT DISTINCT sid FROM events WHERE ${inWindow}${f}) GROUP BY sid
      ) by_session GROUP BY region ORDER BY region`,
    ),

  concurrent: (at, filters) => {
    const f = filterSql(filters);
    return {
      sql: `SELECT count(DISTINCT sid) AS n FROM events
            WHERE t > {since} AND t <= {at}${f.sql}
              AND sid NOT IN (
                SELECT sid FROM sessions WHERE sid IN (SELECT DISTINCT sid FROM events WHERE t > {since} AND t <= {at})
                GROUP BY sid HAVING minIfMerge(ended_at) > 0 AND minIfMerge(ended_at) <= {at}
              )`,
      params: { since: at - 60_000, at, ...f.params },
    };
  },
};
