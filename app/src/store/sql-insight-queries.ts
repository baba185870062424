import { insightSql, type Fragment } from "./insight-statements";
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
}

/**
 * The insight queries over the shared SQL (insight-statements.ts), for any store that can run it.
 * Stores compose this rather than repeat the row mapping.
 */
export class SqlInsightQueries implements InsightQueries {
  constructor(private readonly options: SqlInsightQueriesOptions) {}

  private run(fragment: Fragment): Promise<Rows> {
    return this.options.run(fragment);
  }

  async summary(query: InsightQuery): Promise<Summary> {
    // One after another: a store may serialize queries on one connection anyway.
    const [streams] = await this.run(insightSql.streams(query));
    const [plays] = await this.run(insightSql.plays(query));
    const [stalls] = await this.run(insightSql.stalls(query));
    const [listened] = await this.run(insightSql.listened(query));
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
    const [row] = await this.run(insightSql.concurrent(at, filters));
    return num(row.n);
  }

  async streamsPerMinute(query: InsightQuery): Promise<MinuteCount[]> {
    return (await this.run(insightSql.streamsPerMinute(query, this.options.minuteOf))).map((row) => ({
      minute: num(row.minute),
      count: num(row.n),
    }));
  }

  async top(query: InsightQuery, by: RankBy, limit: number): Promise<RankedName[]> {
    return (await this.run(insightSql.top(query, by, limit))).map((row) => ({ name: String(row.name), streams: num(row.n) }));
  }

  async trending(query: InsightQuery, by: RankBy, limit: number): Promise<TrendingName[]> {
    return (await this.run(insightSql.trending(query, by, limit))).map((row) => ({
      name: String(row.name),
      streams: num(row.n),
      previous: num(row.previous),
      rise: num(row.rise),
    }));
  }

  async qualityByRegion(query: InsightQuery): Promise<RegionQuality[]> {
    return (await this.run(insightSql.quality(query))).map((row) => {
      const expected = num(row.expected);
      const received = num(row.received);
      return { region: String(row.region), expected, received, lossPercent: expected ? ((expected - received) / expected) * 100 : 0 };
    });
  }

  async experienceByRegion(query: InsightQuery): Promise<RegionExperience[]> {
    const regions = (await this.run(insightSql.regions(query))).map((row) => String(row.region));
    const result: RegionExperience[] = [];
    for (const region of regions) {
      const summary = await this.summary({ ...query, region });
      result.push({ region, skipRate: summary.skipRate, bufferingRatio: summary.bufferingRatio });
    }
    return result;
  }
}
