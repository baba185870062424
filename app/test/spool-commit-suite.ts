import type { Store } from "../src/store/store";
import { sampleEvent } from "./events";

type CountingStore = Store & { countEvents(): Promise<number> };

/**
 * What every store promises the spool consumer: a batch and its spool position land together,
 * a batch already stored is skipped, and the position survives for the next start.
 */
export function describeSpoolCommits(name: string, open: () => Promise<CountingStore>, close: () => Promise<void>): void {
  describe(`${name}: spool positions commit with the rows`, () => {
    let store: CountingStore;
    const t = Date.now();
    const events = (from: number, count: number) =>
      Array.from({ length: count }, (_, n) => sampleEvent({ id: `commit-${from + n}`, pid: `commit-p${from + n}`, t: t + from + n }));

    beforeAll(async () => {
      store = await open();
      await store.migrate();
    }, 60_000);
    afterAll(close);

    it("starts at 0 for a spool it has never seen", async () => {
      expect(await store.committedPosition("never-seen")).toBe(0);
    });

    it("stores a batch once, however often it is replayed, and remembers where it ended", async () => {
      const before = await store.countEvents();
      await store.writeBatch(events(0, 5), { spool: "spool-a", from: 0, to: 500 });
      await store.writeBatch(events(0, 5), { spool: "spool-a", from: 0, to: 500 });
      expect(await store.countEvents()).toBe(before + 5);
      expect(await store.committedPosition("spool-a")).toBe(500);
      await store.writeBatch(events(5, 3), { spool: "spool-a", from: 500, to: 800 });
      expect(await store.countEvents()).toBe(before + 8);
      expect(await store.committedPosition("spool-a")).toBe(800);
      // An older batch replayed after a newer one landed is skipped as well.
      await store.writeBatch(events(0, 5), { spool: "spool-a", from: 0, to: 500 });
      expect(await store.countEvents()).toBe(before + 8);
    });

    it("keeps each spool's position apart", async () => {
      await store.writeBatch(events(100, 2), { spool: "spool-b", from: 40, to: 90 });
      expect(await store.committedPosition("spool-b")).toBe(90);
      expect(await store.committedPosition("spool-a")).toBe(800);
    });
  });
}
