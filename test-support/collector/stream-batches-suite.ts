import { committingSinkFor, spooledLinesOf } from "../../app/src/store/committing-sink";
import type { Store } from "../../app/src/store/store";
import { sampleEvent } from "./events";

/**
 * A playback's stream belongs where it began, whichever batch its later events arrive in: a
 * stream has the device (region, source) of its first qualifying event and is counted in the
 * window of that event. Written through the spool consumer's path, two batches apart, since a
 * store that aggregates per insert block (ClickHouse's stream_rows_by_region) sees the two halves apart.
 */
export function describeStreamsAcrossBatches(name: string, open: () => Promise<Store>, close: () => Promise<void>): void {
  describe(`${name}: a stream across batches`, () => {
    let store: Store;
    const t = Date.now() - 120_000;
    const playback = { sid: "handoff-s", pid: "handoff-p", track: "handoff-track", artist: "handoff-artist" };

    beforeAll(async () => {
      store = await open();
      const sink = committingSinkFor(store);
      await sink.prepare();
      const write = (events: ReturnType<typeof sampleEvent>[], from: number, to: number) =>
        sink.write(spooledLinesOf(events.map((event) => JSON.stringify(event))), { spool: "handoff", from, to });
      await write(
        [
          sampleEvent({ ...playback, id: "handoff-1", type: "play", device: "web", t, seq: 1, listened: 0, pos: 0 }),
          sampleEvent({ ...playback, id: "handoff-2", device: "web", t: t + 30_000, seq: 2, listened: 30_000, pos: 30_000 }),
        ],
        0,
        100,
      );
      // Handed to a phone: the playback's later events, qualifying too, come in the next batch.
      await write(
        [
          sampleEvent({ ...playback, id: "handoff-3", device: "ios", t: t + 45_000, seq: 3, listened: 45_000, pos: 45_000 }),
          sampleEvent({
            ...playback,
            id: "handoff-4",
            type: "complete",
            device: "ios",
            t: t + 60_000,
            seq: 4,
            listened: 60_000,
            pos: 60_000,
          }),
        ],
        100,
        200,
      );
    }, 60_000);
    afterAll(close);

    const window = { from: t, to: t + 120_000 };

    it("counts it for the device it began on", async () => {
      expect((await store.insights.summary({ ...window, device: "web" })).streams).toBe(1);
      expect(await store.insights.top({ ...window, device: "web" }, "track", 5)).toEqual([{ name: "handoff-track", streams: 1 }]);
    });

    it("not for the device its later qualifying events came from", async () => {
      expect((await store.insights.summary({ ...window, device: "ios" })).streams).toBe(0);
      expect(await store.insights.top({ ...window, device: "ios" }, "track", 5)).toEqual([]);
      expect(await store.insights.streamsPerMinute({ ...window, device: "ios" })).toEqual([]);
    });

    it("not in a window that holds only its later qualifying events", async () => {
      expect((await store.insights.summary({ from: t + 40_000, to: t + 120_000 })).streams).toBe(0);
      expect(await store.insights.top({ from: t + 40_000, to: t + 120_000 }, "track", 5)).toEqual([]);
    });
  });
}
