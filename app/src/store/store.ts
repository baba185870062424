import type { PlaybackEvent, Source } from "../protocol/event";
import type { SpoolCommit } from "../spool/spool-consumer";
import type { SpooledLines } from "../spool/spool-reader";

/** A time window [from, to) in epoch ms plus optional equality filters. */
export interface InsightQuery {
  readonly from: number;
  readonly to: number;
  readonly region?: string;
  readonly device?: string;
  readonly source?: Source;
}

export interface Summary {
  readonly streams: number;
  readonly playsStarted: number;
  readonly uniqueListeners: number;
  /** null when no play started in the window. */
  readonly skipRate: number | null;
  readonly completionRate: number | null;
  readonly stallMs: number;
  readonly listenedMs: number;
  /** Σ stall / Σ listened ms; null when nothing was listened to. */
  readonly bufferingRatio: number | null;
  readonly bufferEnds: number;
  /** buffer_end events per listening hour; null when nothing was listened to. */
  readonly rebuffersPerHour: number | null;
}

export interface RankedName {
  readonly name: string;
  readonly streams: number;
}

export interface TrendingName extends RankedName {
  readonly previous: number;
  readonly rise: number;
}

export interface RegionQuality {
  readonly region: string;
  /** Events the sessions' seq numbers say were sent. */
  readonly expected: number;
  readonly received: number;
  readonly lossPercent: number;
}

export interface RegionExperience {
  readonly region: string;
  readonly skipRate: number | null;
  readonly bufferingRatio: number | null;
}

export interface MinuteCount {
  /** Start of the minute, epoch ms. */
  readonly minute: number;
  readonly count: number;
}

export type RankBy = "track" | "artist";

/** The insight queries every store answers identically (see the shared insight suite). */
export interface InsightQueries {
  summary(query: InsightQuery): Promise<Summary>;
  /** Sessions with an event in (at − 60 s, at] and no session_end at or before `at`. */
  concurrentListeners(at: number, filters?: Omit<InsightQuery, "from" | "to">): Promise<number>;
  streamsPerMinute(query: InsightQuery): Promise<MinuteCount[]>;
  top(query: InsightQuery, by: RankBy, limit: number): Promise<RankedName[]>;
  trending(query: InsightQuery, by: RankBy, limit: number): Promise<TrendingName[]>;
  qualityByRegion(query: InsightQuery): Promise<RegionQuality[]>;
  experienceByRegion(query: InsightQuery): Promise<RegionExperience[]>;
}

/** Where accepted events end up: the spool consumer writes, HTTP and the loss job ask `insights`. */
export interface Store {
  readonly kind: string;
  readonly insights: InsightQueries;
  /** Applies pending schema migrations; safe to run again. Returns the schema version. */
  migrate(): Promise<number>;
  /**
   * Stores the events. With a spool commit, the store records `commit.to` together with the
   * rows (all or nothing) and skips a batch it already holds, so replays never count twice.
   */
  writeBatch(events: readonly PlaybackEvent[], commit?: SpoolCommit): Promise<void>;
  /** Optional: the same for accepted wire lines as spooled, for a store that parses them faster than JavaScript. */
  writeLines?(lines: SpooledLines, commit?: SpoolCommit): Promise<void>;
  /** The end of the last stored batch of `spool`; 0 when none. */
  committedPosition(spool: string): Promise<number>;
  /** Rows stored, for tests, the lab and the benchmark. */
  countEvents(): Promise<number>;
  close(): Promise<void>;
}
