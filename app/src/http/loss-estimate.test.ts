import pino from "pino";
import { Gauge, Registry } from "prom-client";
import { LossEstimateJob, lossEstimateWindow, nextRefreshDelay } from "./loss-estimate";

describe("the loss estimate job", () => {
  afterEach(() => jest.useRealTimers());

  it("asks about the last 15 minutes from the start of a minute, so whole minutes come from a per-minute table", () => {
    const now = Date.UTC(2026, 11, 2, 17, 42, 31, 250);
    expect(lossEstimateWindow(now)).toEqual({ from: Date.UTC(2026, 11, 2, 17, 27), to: now });
    const aligned = Date.UTC(2026, 11, 2, 17, 42);
    expect(lossEstimateWindow(aligned)).toEqual({ from: Date.UTC(2026, 11, 2, 17, 27), to: aligned });
  });

  it("refreshes every 10 s while the query is quick, and spends at most a tenth of its time querying when it is slow", async () => {
    jest.useFakeTimers();
    let now = 1_800_000_000_000;
    const asked: Array<{ at: number; from: number; to: number }> = [];
    let queryTakes = 200;
    const insights = {
      qualityByRegion: async (query: { from: number; to: number }) => {
        asked.push({ at: now, from: query.from, to: query.to });
        now += queryTakes;
        return [{ region: "eu", expected: 200, received: 190, lossPercent: 5 }];
      },
    };
    const registry = new Registry();
    const gauge = new Gauge({ name: "loss", help: "loss", labelNames: ["region"], registers: [registry] });
    const updated = new Gauge({ name: "loss_updated", help: "loss updated", registers: [registry] });
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const job = new LossEstimateJob(insights, { loss: gauge, updated }, log, () => now);
    job.start();

    await jest.advanceTimersByTimeAsync(10_000);
    expect(asked).toHaveLength(1);
    expect((await gauge.get()).values).toEqual([{ labels: { region: "eu" }, value: 0.05 }]);
    // The time the estimate was asked for, not when the answer came.
    expect((await updated.get()).values).toEqual([{ labels: {}, value: asked[0].to / 1000 }]);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(asked).toHaveLength(2);

    queryTakes = 4_000;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(asked).toHaveLength(3);
    // 4 s of querying, then 36 s of rest: 10 % of the time.
    await jest.advanceTimersByTimeAsync(35_999);
    expect(asked).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(1);
    expect(asked).toHaveLength(4);
    expect(lines.some((line) => line.includes("refreshing it less often") && line.includes('"nextInMs":36000'))).toBe(true);

    expect((await updated.get()).values[0].value).toBe(asked[3].to / 1000);

    job.stop();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(asked).toHaveLength(4);
  });

  it("leaves the gauges as they were when the store does not answer, and says why in the log", async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: "loss", help: "loss", labelNames: ["region"], registers: [registry] });
    const updated = new Gauge({ name: "loss_updated", help: "loss updated", registers: [registry] });
    gauge.set({ region: "eu" }, 0.02);
    updated.set(1_700_000_000);
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const failing = { qualityByRegion: () => Promise.reject(new Error("store unreachable")) };
    await new LossEstimateJob(failing, { loss: gauge, updated }, log).refresh();
    expect((await gauge.get()).values).toEqual([{ labels: { region: "eu" }, value: 0.02 }]);
    expect((await updated.get()).values[0].value).toBe(1_700_000_000);
    expect(lines.some((line) => line.includes("could not refresh the loss estimate") && line.includes("store unreachable"))).toBe(true);
  });

  it("never waits less than 10 s between refreshes", () => {
    expect(nextRefreshDelay(0)).toBe(10_000);
    expect(nextRefreshDelay(1_111)).toBe(10_000);
    expect(nextRefreshDelay(7_000)).toBe(63_000);
  });
});
