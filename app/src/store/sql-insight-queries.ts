import { insightSql as sharedInsightSql, type Fragment, type InsightStatements } from "./insight-statements";
import type {
  InsightQueries,
  InsightQuery,
  MinuteCount,
  RankBy,
  RankedName,
  RegionExperience,
  RegionQuality,
  Summary,
  TrendingName,
} from "./store";

type Rows = Record<string, unknown>[];

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

export interface SqlInsightQueriesOptions {
  /** Runs one insight fragment on the store's database and returns its rows. */
  readonly run: (fragment: Fragment) => Promise<Rows>;
  /** How this database rounds a timestamp column to its minute. */
  readonly minuteOf?: (column: string) => string;
  /** The store's insight SQL. @default the shared statements (insight-statements.ts) */
  readonly statements?: InsightStatements;
}

/**
 * The insight queries over the shared SQL (insight-statements.ts), for any store that can run it.
 * Stores compose this rather than repeat the row mapping.
 */
export class SqlInsightQueries implements InsightQueries {
  private readonly sql: InsightStatements;

  constructor(private readonly options: SqlInsightQueriesOptions) {
    this.sql = options.statements ?? sharedInsightSql;
  }

  private run(fragment: Fragment): Promise<Rows> {
    return this.options.run(fragment);
  }

  async summary(query: InsightQuery): Promise<Summary> {
    // One after another: a store may serialize queries on one connection anyway.
    const [streams] = await this.run(this.sql.streams(query));
    const [plays] = await this.run(this.sql.plays(query));
    const [stalls] = await this.run(this.sql.stalls(query));
    const [listened] = await this.run(this.sql.listened(query));
    const started = num(plays.started);
    const listenedMs = num(listened.listened);
    const stallMs = num(stalls.stall);
    const bufferEnds = num(stalls.buffer_ends);
    return {
      streams: num(streams.n),
      playsStarted: started,
      uniqueListeners: num(streams.listeners),
      skipRate: started ? num(plays.skipped) / started : null,
      completionRate: started ? num(plays.completed) / started : null,
      stallMs,
      listenedMs,
      bufferingRatio: listenedMs ? stallMs / listenedMs : null,
      bufferEnds,
      rebuffersPerHour: listenedMs ? bufferEnds / (listenedMs / 3_600_000) : null,
    };
  }

  async concurrentListeners(at: number, filters: Omit<InsightQuery, "from" | "to"> = {}): Promise<number> {
    const [row] = await this.run(this.sql.concurrent(at, filters));
    return num(row.n);
  }

  async streamsPerMinute(query: InsightQuery): Promise<MinuteCount[]> {
    return (await this.run(this.sql.streamsPerMinute(query, this.options.minuteOf))).map((row) => ({
      minute: num(row.minute),
      count: num(row.n),
    }));
  }

  async top(query: InsightQuery, by: RankBy, limit: number): Promise<RankedName[]> {
    return (await this.run(this.sql.top(query, by, limit))).map((row) => ({ name: String(row.name), streams: num(row.n) }));
  }

  async trending(query: InsightQuery, by: RankBy, limit: number): Promise<TrendingName[]> {
    return (await this.run(this.sql.trending(query, by, limit))).map((row) => ({
      name: String(row.name),
      streams: num(row.n),
      previous: num(row.previous),
      rise: num(row.rise),
    }));
  }

  async qualityByRegion(query: InsightQuery): Promise<RegionQuality[]> {
    return (await this.run(this.sql.quality(query))).map((row) => {
      const expected = num(row.expected);
      const received = num(row.received);
      return { region: String(row.region), expected, received, lossPercent: expected ? ((expected - received) / expected) * 100 : 0 };
    });
  }

  async experienceByRegion(query: InsightQuery): Promise<RegionExperience[]> {
    const regions = (await this.run(this.sql.regions(query))).map((row) => String(row.region));
    const result: RegionExperience[] = [];
    for (const region of regions) {
      const summary = await this.summary({ ...query, region });
      result.push({ region, skipRate: summary.skipRate, bufferingRatio: summary.bufferingRatio });
    }
    return result;
  }
}
