import type { Gauge } from "prom-client";
import type { Logger } from "pino";
import type { InsightQueries } from "../store/store";

const REFRESH_MS = 10_000;
const WINDOW_MS = 15 * 60_000;

/**
 * A read-side job beside the HTTP layer: every 10 s it asks the store's insights for the loss
 * the sessions' seq gaps imply over the last 15 minutes, by region, and sets the gauge.
 */
export class LossEstimateJob {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly insights: InsightQueries,
    private readonly gauge: Gauge<"region">,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh(): Promise<void> {
    try {
      const to = this.clock();
      for (const region of await this.insights.qualityByRegion({ from: to - WINDOW_MS, to })) {
        this.gauge.set({ region: region.region }, region.lossPercent / 100);
      }
    } catch (error) {
      this.log.warn({ err: error }, "could not refresh the loss estimate");
    }
  }
}
