import { chromium, type Browser } from "playwright-core";
import type { Collector } from "../collector";
import { getJson, sendEvents, startCollector } from "../../../test-support/collector/collector-harness";
import { generateEventSet } from "../../../test-support/collector/event-set";
import { describeWithTool, requireTool } from "../../../test-support/tools";

const chromiumPath = requireTool("chromium", "apt-get install chromium");

describeWithTool(chromiumPath)("dashboard in real headless Chromium", () => {
  let collector: Collector;
  let browser: Browser;

  beforeAll(async () => {
    collector = await startCollector();
    // Recent events, so the dashboard's default one-hour window holds them all.
    // The set's sent events include duplicates, so the rejections chart has something to show.
    await sendEvents(collector, generateEventSet(7, Date.now(), { ageMs: 6 * 60_000 }).sent);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it("draws the running collector's data in its charts and keeps updating without reload", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("requestfailed", (request) => errors.push(`${request.url()} failed`));
    await page.goto(`http://127.0.0.1:${collector.httpPort}/`);
    // Two completed refreshes: the page polls and redraws without a reload.
    await page.waitForFunction("Number(document.body.dataset.refreshed) >= 2", null, { timeout: 20_000 });

    const charts = await page.evaluate(() => {
      const all = (
        globalThis as unknown as { dashboardCharts: Record<string, { data: { labels: unknown[]; datasets: Array<{ data: number[] }> } }> }
      ).dashboardCharts;
      return Object.fromEntries(
        Object.entries(all).map(([name, chart]) => [
          name,
          { labels: chart.data.labels.map(String), data: chart.data.datasets.map((set) => set.data) },
        ]),
      );
    });
    const to = Date.now();
    const top = (
      await getJson<Array<{ name: string; streams: number }>>(collector, `/api/v1/top?by=track&limit=10&from=${to - 3_600_000}&to=${to}`)
    ).body;
    const perMinute = (await getJson<Array<{ count: number }>>(collector, `/api/v1/streams-per-minute?from=${to - 30 * 60_000}&to=${to}`))
      .body;
    const summary = (await getJson<{ streams: number }>(collector, `/api/v1/summary?from=${to - 3_600_000}&to=${to}`)).body;
    const trending = (
      await getJson<Array<{ name: string; streams: number; previous: number }>>(
        collector,
        `/api/v1/trending?by=track&limit=10&from=${to - 3_600_000}&to=${to}`,
      )
    ).body;
    const quality = (
      await getJson<{ regions: Array<{ region: string }>; rejected: { events: Record<string, number> } }>(
        collector,
        `/api/v1/quality?from=${to - 3_600_000}&to=${to}`,
      )
    ).body;

    expect(summary.streams).toBeGreaterThan(0);
    expect(charts.topTracks.labels).toEqual(top.map((row) => row.name));
    expect(charts.topTracks.data[0]).toEqual(top.map((row) => row.streams));
    expect(charts.streams.data[0].reduce((sum, n) => sum + n, 0)).toBe(perMinute.reduce((sum, row) => sum + row.count, 0));
    expect(charts.topArtists.data[0].length).toBeGreaterThan(0);
    expect(charts.regions.labels.length).toBeGreaterThan(0);
    // Loss (a percentage, by region) and rejections (counts, by reason) on charts of their own.
    expect(charts.loss.labels).toEqual(quality.regions.map((row) => row.region));
    const rejected = Object.entries(quality.rejected.events).filter(([, n]) => n > 0);
    expect(rejected.map(([reason]) => reason)).toContain("duplicate");
    expect(charts.rejections.labels).toEqual(rejected.map(([reason]) => reason));
    expect(charts.rejections.data[0]).toEqual(rejected.map(([, n]) => n));
    expect(trending.length).toBeGreaterThan(0);
    expect(charts.trending.labels).toEqual(trending.map((row) => row.name));
    expect(charts.trending.data).toEqual([trending.map((row) => row.streams), trending.map((row) => row.previous)]);
    expect(charts.spool.data[0].length).toBeGreaterThanOrEqual(2);
    // Nothing on the page reads as a missing value.
    const text = await page.innerText("body");
    expect(text).toMatch(/received [\d,]+ events · accepted [\d,]+ · stored [\d,]+ · spool backlog [\d.]+ MB/);
    expect(text).not.toMatch(/undefined|NaN|null/);
    expect(charts.concurrent.data[0].length).toBeGreaterThanOrEqual(2);
    expect(await page.textContent("#kpi-streams")).toBe(summary.streams.toLocaleString("en-US"));
    expect(errors).toEqual([]);
  }, 60_000);
});
