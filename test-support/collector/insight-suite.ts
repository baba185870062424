import type { Collector } from "../../app/src/collector";
import { generateEventSet, type EventSet } from "./event-set";
import { getJson, sendEvents } from "./collector-harness";
import { oracle, type Window } from "./insight-oracle";

/** Floats compared to 9 significant decimals; everything else exactly. */
export function rounded(value: unknown): unknown {
  if (typeof value === "number" && !Number.isInteger(value)) return Number(value.toFixed(9));
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rounded(item)]));
  return value;
}

const query = (w: Window, extra: Record<string, string | number> = {}) =>
  new URLSearchParams(
    Object.entries({ ...w, ...extra })
      .filter(([, value]) => value !== undefined)
      .map(([key, value]): [string, string] => [key, String(value)]),
  ).toString();

/** How the suite runs a store: a collector on it, a new collector on the same data, and the end. */
export interface InsightSuiteBackend {
  start(): Promise<Collector>;
  /** Stops `previous` and starts a new collector process on the same stored data (empty dedupe memory). */
  restart(previous: Collector): Promise<Collector>;
  stop(collector: Collector): Promise<void>;
}

/**
 * The insight suite shared by every store: a seeded event set goes over real UDP through the
 * client library, and every insight from the HTTP API must equal the oracle's value, also after
 * a restarted collector has stored every event a second time.
 */
export function describeInsightSuite(name: string, backend: InsightSuiteBackend): void {
  describe(`insights over real UDP (${name})`, () => {
    let collector: Collector;
    let set: EventSet;
    let expected: ReturnType<typeof oracle>;
    let windows: Array<[string, Window]>;

    beforeAll(async () => {
      collector = await backend.start();
      set = generateEventSet(42, Date.now());
      expected = oracle(set.delivered);
      await sendEvents(collector, set.sent);
      const { start: first, end } = set;
      const minute = Math.ceil(first / 60_000) * 60_000;
      const firstEventOf = new Map<string, number>();
      for (const event of set.delivered) firstEventOf.set(event.sid, Math.min(event.t, firstEventOf.get(event.sid) ?? Infinity));
      const lastSessionBegins = Math.max(...firstEventOf.values());
      windows = [
        ["the whole set", { from: first, to: end }],
        ["an unaligned window crossing minutes", { from: first + 93_517, to: first + 271_003 }],
        ["region eu", { from: first, to: end, region: "eu" }],
        ["device ios", { from: first, to: end, device: "ios" }],
        ["source playlist", { from: first, to: end, source: "playlist" }],
        ["region us and source album", { from: first + 30_000, to: end, region: "us", source: "album" }],
        // A store may answer whole minutes from a per-minute table and the edges from the events.
        ["inside one minute", { from: minute + 5_250, to: minute + 47_900 }],
        ["whole minutes only", { from: minute, to: minute + 180_000, device: "ios" }],
        // The last session to begin is in the window only by its first event, in the last minute.
        ["until the last session's first event", { from: first, to: lastSessionBegins + 1 }],
      ];
    }, 60_000);

    afterAll(async () => backend.stop(collector));

    it("accepted each event once, dropping the resent duplicates", () => {
      expect(set.sent.length).toBeGreaterThan(set.delivered.length);
      expect(collector.stats.accepted).toBe(set.delivered.length);
      expect(collector.stats.rejectedEvents.duplicate).toBe(set.sent.length - set.delivered.length);
      expect(collector.stats.storedEvents).toBe(set.delivered.length);
    });

    it("has a test set worth testing: streams, skips, stalls, gaps and active sessions", () => {
      const whole = expected.summary({ from: set.start, to: set.end });
      expect(whole.streams).toBeGreaterThan(20);
      expect(whole.skipRate).toBeGreaterThan(0);
      expect(whole.stallMs).toBeGreaterThan(0);
      expect(set.lost).toBeGreaterThan(0);
      expect(expected.streamsPerMinute({ from: set.start, to: set.end }).length).toBeGreaterThan(2);
      // Playbacks handed to another device after they became streams: a filter on device must
      // count each where its stream began, not wherever a later event was.
      const devicesOf = new Map<string, Set<string>>();
      for (const event of set.delivered)
        if (event.pid && (event.listened ?? 0) >= 30_000)
          devicesOf.set(event.pid, (devicesOf.get(event.pid) ?? new Set()).add(event.device));
      expect([...devicesOf.values()].filter((devices) => devices.has("ios") && devices.size > 1).length).toBeGreaterThan(0);
    });

    it.each([0, 1, 2, 3, 4, 5])("summary for window %i equals the oracle", async (index) => {
      const [, w] = windows[index];
      const { status, body } = await getJson(collector, `/api/v1/summary?${query(w)}`);
      expect(status).toBe(200);
      expect(rounded(body)).toEqual(rounded(expected.summary(w)));
    });

    it.each([0, 1, 2, 3, 4, 5])("streams per minute, top and trending for window %i equal the oracle", async (index) => {
      const [, w] = windows[index];
      expect((await getJson(collector, `/api/v1/streams-per-minute?${query(w)}`)).body).toEqual(expected.streamsPerMinute(w));
      for (const by of ["track", "artist"] as const) {
        expect((await getJson(collector, `/api/v1/top?${query(w, { by, limit: 5 })}`)).body).toEqual(expected.top(w, by, 5));
        expect((await getJson(collector, `/api/v1/trending?${query(w, { by, limit: 5 })}`)).body).toEqual(expected.trending(w, by, 5));
      }
    });

    it.each([0, 1, 2, 5, 6, 7, 8])("quality and experience by region for window %i equal the oracle", async (index) => {
      const [, w] = windows[index];
      const quality = await getJson<{ regions: unknown[] }>(collector, `/api/v1/quality?${query(w)}`);
      expect(rounded(quality.body.regions)).toEqual(rounded(expected.qualityByRegion(w)));
      expect(rounded((await getJson(collector, `/api/v1/regions?${query(w)}`)).body)).toEqual(rounded(expected.experienceByRegion(w)));
    });

    it("concurrent listeners at several instants equal the oracle", async () => {
      for (const at of [set.start + 60_000, set.start + 150_000, set.start + 240_000, set.end]) {
        expect((await getJson<{ listeners: number }>(collector, `/api/v1/concurrent?at=${at}`)).body.listeners).toBe(
          expected.concurrentListeners(at),
        );
        expect((await getJson<{ listeners: number }>(collector, `/api/v1/concurrent?at=${at}&region=eu`)).body.listeners).toBe(
          expected.concurrentListeners(at, { region: "eu" }),
        );
      }
    });

    // Last: it stores every event a second time. A client resending after a collector restart,
    // or to another pod, gets past every collector's in-memory dedupe; the insights must not
    // count those copies (they share the event id).
    it("equals the oracle after a restarted collector stored every event again", async () => {
      collector = await backend.restart(collector);
      await sendEvents(collector, set.delivered);
      expect(collector.stats.accepted).toBe(set.delivered.length);
      expect(collector.stats.storedEvents).toBe(set.delivered.length);
      for (const [name, w] of windows) {
        const summary = (await getJson(collector, `/api/v1/summary?${query(w)}`)).body;
        expect({ window: name, summary: rounded(summary) }).toEqual({ window: name, summary: rounded(expected.summary(w)) });
        for (const by of ["track", "artist"] as const) {
          expect((await getJson(collector, `/api/v1/top?${query(w, { by, limit: 5 })}`)).body).toEqual(expected.top(w, by, 5));
          expect((await getJson(collector, `/api/v1/trending?${query(w, { by, limit: 5 })}`)).body).toEqual(expected.trending(w, by, 5));
        }
        expect((await getJson(collector, `/api/v1/streams-per-minute?${query(w)}`)).body).toEqual(expected.streamsPerMinute(w));
        const quality = await getJson<{ regions: unknown[] }>(collector, `/api/v1/quality?${query(w)}`);
        expect(rounded(quality.body.regions)).toEqual(rounded(expected.qualityByRegion(w)));
      }
      for (const at of [set.start + 150_000, set.end]) {
        expect((await getJson<{ listeners: number }>(collector, `/api/v1/concurrent?at=${at}`)).body.listeners).toBe(
          expected.concurrentListeners(at),
        );
      }
    }, 60_000);
  });
}
