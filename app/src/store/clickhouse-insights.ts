import { STREAM_THRESHOLD_MS } from "../protocol/event";
import {
  filterSql,
  insightStatements,
  inWindow,
  windowed,
  type Fragment,
  type InsightStatements,
  type StreamsSource,
} from "./insight-statements";
import type { InsightQuery } from "./store";

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
 * - `session_minutes` (ORDER BY minute, sid, …; schema version 4): which sessions sent events in
 *   each minute, with their labels, so a window's sessions are found without reading its events
 *   (windowSessions).
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

type Engine = "MergeTree" | "AggregatingMergeTree" | "ReplacingMergeTree";

interface DerivedTable {
  readonly engine: Engine;
  readonly columns: string;
  readonly layout: string;
  readonly select: (from: string) => string;
}

/**
 * Tables kept from the events at insert time: for each, the table (its columns and ordering,
 * given its engine), a materialized view that fills it from each inserted block, sid-sharded
 * Distributed tables on a cluster, and a backfill from what is stored already.
 */
function derivedTables(
  options: EntityTableOptions,
  definitions: Record<string, DerivedTable>,
  { backfill = true }: { readonly backfill?: boolean } = {},
): string[] {
  const { database: db, cluster } = options;
  const onCluster = cluster ? ` ON CLUSTER ${cluster}` : "";
  const local = (table: string) => (cluster ? `${table}_local` : table);
  const from = `${db}.${local("events")}`;
  const statements: string[] = [];
  for (const [table, { engine: kind, columns, layout }] of Object.entries(definitions)) {
    const engine = cluster ? `Replicated${kind}('/clickhouse/tables/{shard}/${db}/${local(table)}', '{replica}')` : `${kind}()`;
    statements.push(`CREATE TABLE IF NOT EXISTS ${db}.${local(table)}${onCluster} (${columns})\n      ENGINE = ${engine}\n      ${layout}`);
    // Sharded by sid like the events, so a backfill through them lands beside each session's events.
    if (cluster) {
      statements.push(
        `CREATE TABLE IF NOT EXISTS ${db}.${table}${onCluster} AS ${db}.${local(table)} ENGINE = Distributed(${cluster}, ${db}, ${local(table)}, cityHash64(sid))`,
      );
    }
  }
  for (const [table, { select }] of Object.entries(definitions)) {
    statements.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${table}_mv${onCluster} TO ${db}.${local(table)} AS ${select(from)}`);
  }
  // What was stored before the views existed. On a cluster the backfill reads the Distributed
  // events and writes through the Distributed tables, which route each row to its sid's shard.
  if (backfill)
    for (const [table, { select }] of Object.entries(definitions)) {
      statements.push(`INSERT INTO ${db}.${table} ${select(`${db}.events`)}`);
    }
  return statements;
}

const retention = (options: EntityTableOptions, day: string) => (options.ttl ? `\n    TTL ${day} + INTERVAL 400 DAY` : "");

/** The stream rows' columns, in their tables' order (version 5 copies them by name). */
const STREAM_ROW_COLUMNS = ["pid", "sid", "uid", "track", "artist", "region", "device", "source", "at"] as const;

/**
 * Per insert block, each playback's first qualifying event in the block, sorted by `order`.
 * Version 3 sorted by time; version 5 by region first (stream_rows_by_region).
 */
function streamRows(options: EntityTableOptions, order: string): DerivedTable {
  const { label } = options;
  const types: Record<(typeof STREAM_ROW_COLUMNS)[number], string> = {
    pid: "String",
    sid: "String",
    uid: "String",
    track: "Nullable(String)",
    artist: "Nullable(String)",
    region: label,
    device: label,
    source: "Nullable(String)",
    at: "Int64",
  };
  return {
    engine: "MergeTree",
    columns: STREAM_ROW_COLUMNS.map((column) => `${column} ${types[column]}`).join(", "),
    layout: `PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000)))
      ${order}${retention(options, "toDateTime(intDiv(at, 1000))")}`,
    select: (
      from,
    ) => `SELECT ifNull(pid, '') AS pid, any(sid) AS sid, argMin(uid, t) AS uid, argMin(track, t) AS track, argMin(artist, t) AS artist,
        argMin(region, t) AS region, argMin(device, t) AS device, argMin(source, t) AS source, min(t) AS at
      FROM ${from} WHERE pid != '' AND ${qualifies} GROUP BY pid`,
  };
}

/** Version 3 of the schema: the aggregate tables, their views, and a backfill from what is stored. */
export function clickHouseEntityTables(options: EntityTableOptions): string[] {
  // Each view reads the events directly: ClickHouse 18.16 loses a subquery's columns while
  // pushing a block to a view over it ("Unknown identifier"). An alias named like a column means
  // that column inside its own expression, and the alias everywhere else: \`pid\` in WHERE is
  // ifNull(pid, ''), which leaves NULL pids out. No alias is named \`t\`, which the aggregates read.
  return derivedTables(options, {
    stream_rows: streamRows(options, "ORDER BY (at, pid)"),
    playbacks: {
      engine: "AggregatingMergeTree",
      columns: `pid String, sid String, day Date, first_stream_t AggregateFunction(minIf, Int64, UInt8),
        skipped AggregateFunction(max, UInt8), completed AggregateFunction(max, UInt8)`,
      layout: `PARTITION BY toYYYYMM(day) ORDER BY (pid, sid, day)${retention(options, "day")}`,
      select: (from) => `SELECT ifNull(pid, '') AS pid, any(sid) AS sid, toDate(toDateTime(intDiv(min(t), 1000))) AS day,
        minIfState(t, ${qualifies}) AS first_stream_t,
        maxState(toUInt8(type = 'skip' AND ifNull(listened, 0) < ${STREAM_THRESHOLD_MS})) AS skipped,
        maxState(toUInt8(type = 'complete')) AS completed
      FROM ${from} WHERE pid != '' GROUP BY pid`,
    },
    playback_progress: {
      engine: "AggregatingMergeTree",
      columns: "pid String, sid String, minute Int64, listened_max AggregateFunction(max, Int64)",
      layout: `PARTITION BY toYYYYMM(toDateTime(intDiv(minute, 1000))) ORDER BY (pid, minute, sid)${retention(options, "toDateTime(intDiv(minute, 1000))")}`,
      select: (from) => `SELECT ifNull(pid, '') AS pid, any(sid) AS sid, intDiv(t, 60000) * 60000 AS minute,
        maxState(ifNull(listened, 0)) AS listened_max
      FROM ${from} WHERE pid != '' GROUP BY pid, minute`,
    },
    sessions: {
      engine: "AggregatingMergeTree",
      columns: `sid String, day Date, region_min AggregateFunction(min, String), seq_max AggregateFunction(max, Int64),
        seqs AggregateFunction(uniqExact, Int64), ended_at AggregateFunction(minIf, Int64, UInt8)`,
      layout: `PARTITION BY toYYYYMM(day) ORDER BY (sid, day)${retention(options, "day")}`,
      select: (
        from,
      ) => `SELECT sid, toDate(toDateTime(intDiv(min(t), 1000))) AS day, minState(toString(region)) AS region_min, maxState(seq) AS seq_max,
        uniqExactState(seq) AS seqs, minIfState(t, type = 'session_end') AS ended_at
      FROM ${from} GROUP BY sid`,
    },
  });
}

/**
 * Version 4: which sessions sent events in each minute, with the labels the insights filter by.
 * A window's sessions are then its whole minutes' rows here and only its partial edge minutes'
 * events: reading each event of a 15-minute window (the loss estimate's) took 6–8 s at 150 000
 * events/s. A row may be written once per insert block; the DISTINCT in the queries makes that
 * harmless, and ReplacingMergeTree folds the copies as parts merge.
 */
export function clickHouseSessionMinutes(options: EntityTableOptions): string[] {
  const { label } = options;
  return derivedTables(options, {
    session_minutes: {
      engine: "ReplacingMergeTree",
      columns: `minute Int64, sid String, region ${label}, device ${label}, source String`,
      layout: `PARTITION BY toYYYYMM(toDateTime(intDiv(minute, 1000)))
      ORDER BY (minute, sid, region, device, source)${retention(options, "toDateTime(intDiv(minute, 1000))")}`,
      // A missing source is '' here: the API's source filter is one of the named sources, never ''.
      select: (from) => `SELECT intDiv(t, 60000) * 60000 AS minute, sid, region, device, ifNull(source, '') AS source
      FROM ${from} GROUP BY minute, sid, region, device, source`,
    },
  });
}

/** Copies a table's rows into another while the source exists: a re-run after the source was dropped skips it. */
export interface CopyRows {
  readonly copyFrom: string;
  readonly into: string;
  readonly columns: string;
}

/**
 * Version 5: the per-block stream rows again, sorted by region first (stream_rows_by_region), so
 * a window's streams filtered by region read that region's rows, not the window's: the bench's
 * polled query read 233 335 rows of a 35-second window for its one stream, and 3 959 sorted this
 * way. The rows are copied from stream_rows (recomputing them from the events would group every
 * playback ever stored in one query), then its view and table go. Each step is safe to run
 * again: a row copied twice, or written by both views meanwhile, is folded by the queries'
 * GROUP BY pid (argMin and min of the same rows).
 */
export function clickHouseStreamsByRegion(options: EntityTableOptions): Array<string | CopyRows> {
  const { database: db, cluster } = options;
  const onCluster = cluster ? ` ON CLUSTER ${cluster}` : "";
  const oldTables = cluster ? ["stream_rows", "stream_rows_local"] : ["stream_rows"];
  return [
    ...derivedTables(options, { stream_rows_by_region: streamRows(options, "ORDER BY (region, at, pid)") }, { backfill: false }),
    {
      copyFrom: `${db}.stream_rows`,
      into: `${db}.stream_rows_by_region`,
      columns: STREAM_ROW_COLUMNS.join(", "),
    },
    `DROP TABLE IF EXISTS ${db}.stream_rows_mv${onCluster}`,
    ...oldTables.map((table) => `DROP TABLE IF EXISTS ${db}.${table}${onCluster}`),
  ];
}

/**
 * A window's streams, read from stream_rows_by_region and kept where they are the playback's
 * first. The filters apply before the grouping, which is exact: a playback's stream has the
 * region, device and source of its first qualifying event, so where that event (the first row of
 * its first batch) does not match, the playback's first matching row is later than its first
 * stream and fails the first-stream check. A filtered query then reads only its own playbacks,
 * and a region filter only that region's rows (the table's sorting key starts with it).
 *
 * The statements read the grouped rows' own names (first_track, …) rather than a subquery that
 * renames them: analysing a query took 18.16 about two thirds of a small query's CPU, and more
 * with each level. With both changes the bench's polled query (one stream in its region) took
 * 4.5–4.8 ms of server CPU against 8.6–9.2 (docs/adr/0023).
 */
const streamsIn: StreamsSource = (from, to, filters) => {
  const rows = `stream_rows_by_region WHERE at >= ${from} AND at < ${to}${filters}`;
  return {
    from: `(
    SELECT pid, argMin(uid, at) AS first_uid, argMin(track, at) AS first_track, argMin(artist, at) AS first_artist,
           argMin(region, at) AS first_region, argMin(device, at) AS first_device, argMin(source, at) AS first_source, min(at) AS first_t
    FROM ${rows} GROUP BY pid
  ) AS streams`,
    where: `(pid, first_t) IN (
    SELECT pid, minIfMerge(first_stream_t) FROM playbacks WHERE pid IN (SELECT pid FROM ${rows}) GROUP BY pid
  )`,
    column: (field) => `first_${field}`,
  };
};

/** The window's first whole minute's start: the first minute start at or after {from}, at most {to}. */
const wholeFrom = "least(intDiv({from} + 59999, 60000) * 60000, {to})";
/** Where the window's whole minutes end: the last minute start at or before {to}, at least wholeFrom. */
const wholeTo = `greatest(intDiv({to}, 60000) * 60000, ${wholeFrom})`;

/**
 * The sessions with an event in the window that matches the filters, as a subquery (rows may
 * repeat): the window's whole minutes from session_minutes, its partial first and last minutes
 * from the events, so the events read are at most two minutes' whatever the window's length.
 * The bounds are SQL over {from} and {to}, so Grafana's time range fills them as well; the
 * constant expressions still select by the primary key (18.16 read 130 of 100 000 rows).
 * Where the window lies inside one minute there are no whole minutes and the first edge is it all.
 */
export function windowSessions(q: InsightQuery): Fragment {
  return windowed(
    q,
    (f) => `SELECT sid FROM session_minutes WHERE minute >= ${wholeFrom} AND minute < ${wholeTo}${f}
          UNION ALL SELECT sid FROM events WHERE t >= {from} AND t < ${wholeFrom}${f}
          UNION ALL SELECT sid FROM events WHERE t >= ${wholeTo} AND t < {to}${f}`,
  );
}

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

  quality: (q) => {
    const window = windowSessions(q);
    return {
      sql: `
      SELECT region, sum(expected) AS expected, sum(received) AS received FROM (
        SELECT sid, minMerge(region_min) AS region, maxMerge(seq_max) AS expected, uniqExactMerge(seqs) AS received FROM sessions
        WHERE sid IN (${window.sql}) GROUP BY sid
      ) by_session GROUP BY region ORDER BY region`,
      params: window.params,
    };
  },

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
