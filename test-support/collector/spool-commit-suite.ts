import type { SpoolCommit } from "../../app/src/spool/spool-consumer";
import { committingSinkFor, spooledLinesOf } from "../../app/src/store/committing-sink";
import type { Store } from "../../app/src/store/store";
import { sampleEvent } from "./events";

/**
 * What every store promises the spool consumer: a batch and its spool position land together,
 * a batch already stored is skipped, and the position survives for the next start. Written
 * through the consumer's own path (committingSinkFor), spooled lines in.
 */
export function describeSpoolCommits(name: string, open: () => Promise<Store>, close: () => Promise<void>): void {
  describe(`${name}: spool positions commit with the rows`, () => {
    let store: Store;
    let sink: ReturnType<typeof committingSinkFor>;
    const t = Date.now();
    const events = (from: number, count: number) =>
      Array.from({ length: count }, (_, n) => sampleEvent({ id: `commit-${from + n}`, pid: `commit-p${from + n}`, t: t + from + n }));
    const write = (batch: ReturnType<typeof events>, commit: SpoolCommit) =>
      sink.write(spooledLinesOf(batch.map((event) => JSON.stringify(event))), commit);

    beforeAll(async () => {
      store = await open();
      sink = committingSinkFor(store);
      await sink.prepare();
    }, 60_000);
    afterAll(close);

    it("starts at 0 for a spool it has never seen", async () => {
      expect(await sink.committedPosition("never-seen")).toBe(0);
    });

    it("stores a batch once, however often it is replayed, and remembers where it ended", async () => {
      const before = await store.countEvents();
      await write(events(0, 5), { spool: "spool-a", from: 0, to: 500 });
      await write(events(0, 5), { spool: "spool-a", from: 0, to: 500 });
      expect(await store.countEvents()).toBe(before + 5);
      expect(await sink.committedPosition("spool-a")).toBe(500);
      await write(events(5, 3), { spool: "spool-a", from: 500, to: 800 });
      expect(await store.countEvents()).toBe(before + 8);
      expect(await sink.committedPosition("spool-a")).toBe(800);
      // An older batch replayed after a newer one landed is skipped as well.
      await write(events(0, 5), { spool: "spool-a", from: 0, to: 500 });
      expect(await store.countEvents()).toBe(before + 8);
    });

    it("keeps each spool's position apart", async () => {
      await write(events(100, 2), { spool: "spool-b", from: 40, to: 90 });
      expect(await sink.committedPosition("spool-b")).toBe(90);
      expect(await sink.committedPosition("spool-a")).toBe(800);
    });
  });
}
