import type { Gauge } from "prom-client";
import type { Logger } from "pino";
import type { InsightQueries } from "../store/store";

const REFRESH_MS = 10_000;
const WINDOW_MS = 15 * 60_000;
/**
 * The share of the time the job may spend querying. It competes with ingest for the store: over
 * 10 minutes at 150 000 events/s the query grew to 6–8 s on ClickHouse, and with a refresh every
 * 10 s the store fell behind (bench 2026-12-02-rowbinary).
 */
const MAX_DUTY = 0.1;

/** After a refresh that took `tookMs`, the wait before the next: 10 s, or longer to stay within MAX_DUTY. */
export function nextRefreshDelay(tookMs: number): number {
  return Math.max(REFRESH_MS, Math.ceil(tookMs * (1 / MAX_DUTY - 1)));
}

/** The window a refresh at `now` asks about: the last 15 minutes, from the start of a minute. */
export function lossEstimateWindow(now: number): { from: number; to: number } {
  // A whole first minute lets a store answer it from a per-minute table, without its events.
  return { from: Math.floor((now - WINDOW_MS) / 60_000) * 60_000, to: now };
}

/**
 * A read-side job beside the HTTP layer: it asks the store's insights for the loss the
 * sessions' seq gaps imply over the last 15 minutes, by region, and sets the gauge and the time
 * it was computed for; every 10 s, or less often where the query is slow (nextRefreshDelay).
 */
export class LossEstimateJob {
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly insights: Pick<InsightQueries, "qualityByRegion">,
    private readonly gauges: {
      readonly loss: Gauge<"region">;
      /** Set, in Unix seconds, each time the loss gauge is. */
      readonly updated: Gauge;
    },
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(REFRESH_MS);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(async () => {
      const started = this.clock();
      await this.refresh();
      const took = this.clock() - started;
      const next = nextRefreshDelay(took);
      if (next > REFRESH_MS)
        this.log.info({ tookMs: took, nextInMs: next }, "the loss estimate is slow to query; refreshing it less often");
      if (this.running) this.schedule(next);
    }, delay);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    try {
      const at = this.clock();
      for (const region of await this.insights.qualityByRegion(lossEstimateWindow(at))) {
        this.gauges.loss.set({ region: region.region }, region.lossPercent / 100);
      }
      this.gauges.updated.set(at / 1000);
    } catch (error) {
      this.log.warn({ err: error }, "could not refresh the loss estimate");
    }
  }
}
