import { STREAM_THRESHOLD_MS } from "../protocol/event";
import type { InsightQuery, RankBy } from "./store";

/**
 * The insight definitions as SQL shared by the embedded (DuckDB) and cluster (ClickHouse)
 * stores. Kept to syntax both accept; placeholders are written `{name}` and each store
 * renders them its own way.
 */
export type Params = Record<string, string | number>;

export interface Fragment {
  readonly sql: string;
  readonly params: Params;
}

/** `region = {region} AND …` for the filters that are set. */
export function filterSql(query: Omit<InsightQuery, "from" | "to">, column: (name: string) => string = (name) => name): Fragment {
  const clauses: string[] = [];
  const params: Params = {};
  for (const name of ["region", "device", "source"] as const) {
    const value = query[name];
    if (value !== undefined) {
      clauses.push(`${column(name)} = {${name}}`);
      params[name] = value;
    }
  }
  return { sql: clauses.length ? ` AND ${clauses.join(" AND ")}` : "", params };
}

/** A windowed statement: {from}, {to} and the set filters as parameters. */
export function windowed(query: InsightQuery, sql: (filters: string) => string): Fragment {
  const filters = filterSql(query);
  return { sql: sql(filters.sql), params: { from: query.from, to: query.to, ...filters.params } };
}

export const inWindow = "t >= {from} AND t < {to}";

/**
 * Where the streams (one row per playback that reached the threshold, at its first qualifying
 * event) of a window come from, given the window's bounds and the query's filters (on region,
 * device, source) as SQL over the stored columns. The embedded store reads its `streams` view; a
 * store may instead read only what the window needs, filter early, and name the stream fields its
 * own way, which spares a renaming subquery (ClickHouse 18.16 analyses each level on every query).
 */
export interface StreamsRelation {
  /** What the statement reads FROM: a table, or an aliased subquery. */
  readonly from: string;
  /** What else a row must meet to be a stream, ANDed into the statement's WHERE. @default none */
  readonly where?: string;
  /** The relation's column for a stream field (uid, t, and the rank and filter fields). */
  column(field: string): string;
}
export type StreamsSource = (from: string, to: string, filters: string) => StreamsRelation;

const streamsView: StreamsSource = () => ({ from: "streams", column: (field) => field });

/**
 * The relation's streams in [start, end) that match the query's filters, as a WHERE clause's
 * conditions: the relation's own condition first, then the window and filters on its columns.
 */
function streamsWhere(streams: StreamsRelation, query: Omit<InsightQuery, "from" | "to">, start: string, end: string): string {
  const t = streams.column("t");
  const window = `${t} >= ${start} AND ${t} < ${end}${filterSql(query, streams.column).sql}`;
  return streams.where ? `${streams.where} AND ${window}` : window;
}

/** The insight SQL over a streams source. */
export function insightStatements(streamsIn: StreamsSource = streamsView) {
  return {
    streams: (q: InsightQuery) =>
      windowed(q, (f) => {
        const streams = streamsIn("{from}", "{to}", f);
        return `SELECT count(*) AS n, count(DISTINCT ${streams.column("uid")}) AS listeners FROM ${streams.from} WHERE ${streamsWhere(streams, q, "{from}", "{to}")}`;
      }),

    /** Plays started in the window, and how many of them were skipped early or completed (at any time). */
    plays: (q: InsightQuery) =>
      windowed(
        q,
        (f) => `
      SELECT count(*) AS started, coalesce(sum(skipped), 0) AS skipped, coalesce(sum(completed), 0) AS completed
      FROM (
        SELECT pid,
               max(CASE WHEN type = 'skip' AND listened < ${STREAM_THRESHOLD_MS} THEN 1 ELSE 0 END) AS skipped,
               max(CASE WHEN type = 'complete' THEN 1 ELSE 0 END) AS completed
        FROM events WHERE pid IN (SELECT DISTINCT pid FROM events WHERE type = 'play' AND ${inWindow}${f}) GROUP BY pid
      ) plays`,
      ),

    /**
     * Σ stall and the number of buffer_end events in the window, each event once by its id: a copy
     * stored again (a client resending after a collector restart, or to another pod) has the same
     * id and t, so it falls in the same window and the GROUP BY folds it. The other insights are
     * copy-proof by construction (distinct pids, sids and seqs, max listened, first stream).
     */
    stalls: (q: InsightQuery) =>
      windowed(
        q,
        (f) => `
      SELECT coalesce(sum(event_stall), 0) AS stall, count(*) AS buffer_ends
      FROM (SELECT id, max(stall) AS event_stall FROM events WHERE type = 'buffer_end' AND ${inWindow}${f} GROUP BY id) buffer_ends`,
      ),

    /** Listening time in the window: per playback, the rise of cumulative `listened` inside it. */
    listened: (q: InsightQuery) =>
      windowed(
        q,
        (f) => `
      SELECT coalesce(sum(CASE WHEN inside > coalesce(before, 0) THEN inside - coalesce(before, 0) ELSE 0 END), 0) AS listened
      FROM (
        SELECT pid,
               max(CASE WHEN t >= {from} THEN listened ELSE NULL END) AS inside,
               max(CASE WHEN t < {from} THEN listened ELSE NULL END) AS before
        FROM events
        WHERE t < {to} AND pid IN (SELECT DISTINCT pid FROM events WHERE pid IS NOT NULL AND ${inWindow}${f})
        GROUP BY pid
      ) playbacks`,
      ),

    concurrent: (at: number, filters: Omit<InsightQuery, "from" | "to">) => {
      const f = filterSql(filters);
      return {
        sql: `SELECT count(DISTINCT sid) AS n FROM events
            WHERE t > {since} AND t <= {at}${f.sql}
              AND sid NOT IN (SELECT sid FROM events WHERE type = 'session_end' AND t <= {at})`,
        params: { since: at - 60_000, at, ...f.params },
      };
    },

    /** `minuteOf` lets a store round differently (ClickHouse 18.16 gets Int64 % constant wrong). */
    streamsPerMinute: (q: InsightQuery, minuteOf: (column: string) => string = (column) => `${column} - ${column} % 60000`) =>
      windowed(q, (f) => {
        const streams = streamsIn("{from}", "{to}", f);
        return `SELECT ${minuteOf(streams.column("t"))} AS minute, count(*) AS n FROM ${streams.from} WHERE ${streamsWhere(streams, q, "{from}", "{to}")} GROUP BY minute ORDER BY minute`;
      }),

    /** Ranking by streams; ties break by name so both stores agree. */
    top: (q: InsightQuery, by: RankBy, limit: number) =>
      windowed(q, (f) => {
        const streams = streamsIn("{from}", "{to}", f);
        const name = streams.column(by);
        return `SELECT ${name} AS name, count(*) AS n FROM ${streams.from} WHERE ${streamsWhere(streams, q, "{from}", "{to}")} GROUP BY ${name} ORDER BY n DESC, name ASC LIMIT ${Math.trunc(limit)}`;
      }),

    trending: (q: InsightQuery, by: RankBy, limit: number) => {
      const f = filterSql(q);
      const length = q.to - q.from;
      const streams = streamsIn("{previousFrom}", "{to}", f.sql);
      const [name, t] = [streams.column(by), streams.column("t")];
      return {
        sql: `SELECT name, n, previous, n - previous AS rise FROM (
              SELECT ${name} AS name,
                     sum(CASE WHEN ${t} >= {from} THEN 1 ELSE 0 END) AS n,
                     sum(CASE WHEN ${t} < {from} THEN 1 ELSE 0 END) AS previous
              FROM ${streams.from} WHERE ${streamsWhere(streams, q, "{previousFrom}", "{to}")} GROUP BY ${name}
            ) ranked WHERE n > previous ORDER BY rise DESC, name ASC LIMIT ${Math.trunc(limit)}`,
        params: { from: q.from, to: q.to, previousFrom: q.from - length, ...f.params },
      };
    },

    /** Loss from seq gaps of the sessions active in the window (seq starts at 1 per session). */
    quality: (q: InsightQuery) =>
      windowed(
        q,
        (f) => `
      SELECT region, sum(expected) AS expected, sum(received) AS received FROM (
        SELECT sid, min(region) AS region, max(seq) AS expected, count(DISTINCT seq) AS received
        FROM events WHERE sid IN (SELECT DISTINCT sid FROM events WHERE ${inWindow}${f}) GROUP BY sid
      ) sessions GROUP BY region ORDER BY region`,
      ),

    regions: (q: InsightQuery) => windowed(q, (f) => `SELECT DISTINCT region FROM events WHERE ${inWindow}${f} ORDER BY region`),
  };
}

/** The insight SQL both stores accept, over a `streams` view. */
export const insightSql = insightStatements();
export type InsightStatements = typeof insightSql;
