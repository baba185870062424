import { waitFor } from "../../test/collector-harness";
import { sampleEvent } from "../../test/events";
import { DuckDbStore } from "../store/duckdb-store";
import { Batcher } from "./batcher";

const events = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) => sampleEvent({ id: `${prefix}-${index}`, pid: `${prefix}-p${index}` }));

describe("Batcher over a real DuckDB store", () => {
  let store: DuckDbStore;
  beforeEach(async () => {
    store = await DuckDbStore.open({ path: ":memory:" });
    await store.migrate();
  });
  afterEach(async () => store.close());

  it("flushes by size and by interval", async () => {
    const flushed: number[] = [];
    const batcher = new Batcher(store, { batchSize: 10, flushIntervalMs: 30, maxQueue: 100 }, { onFlush: (n) => flushed.push(n) });
    for (const event of events(25, "a")) batcher.add(event);
    // Wait for the writes rather than a fixed time: a loaded machine makes the first one slow.
    await waitFor(() => flushed.reduce((sum, n) => sum + n, 0) >= 25, 10_000, "25 flushed events");
    expect(flushed).toEqual([10, 10, 5]);
    expect(await store.countEvents()).toBe(25);
  });

  it("keeps a failed batch and writes it, in order and once, when the store recovers", async () => {
    const errors: string[] = [];
    const batcher = new Batcher(
      store,
      { batchSize: 5, flushIntervalMs: 20, maxQueue: 100, retryBaseMs: 20 },
      { onError: (error) => errors.push(error.message) },
    );
    // Make the real store fail: the table the writes go to disappears for a while.
    const admin = await (store as unknown as { connection: { run(sql: string): Promise<unknown> } }).connection;
    await admin.run("ALTER TABLE events RENAME TO events_away");
    for (const event of events(12, "b")) batcher.add(event);
    await waitFor(() => errors.length > 0, 10_000, "a failed write");
    expect(errors.length).toBeGreaterThan(0);
    expect(batcher.depth).toBe(12);
    await admin.run("ALTER TABLE events_away RENAME TO events");
    expect(await batcher.drain(Date.now() + 5_000)).toBe(true);
    expect(await store.countEvents()).toBe(12);
  });

  it("reports no room at maxQueue", async () => {
    const batcher = new Batcher(store, { batchSize: 5, flushIntervalMs: 1_000, maxQueue: 5 });
    for (const event of events(5, "c")) {
      expect(batcher.hasRoom).toBe(true);
      batcher.add(event);
    }
    expect(batcher.hasRoom).toBe(false);
    expect(await batcher.drain(Date.now() + 5_000)).toBe(true);
    expect(batcher.hasRoom).toBe(true);
  });

  it("rejects a queue smaller than a batch", () => {
    expect(() => new Batcher(store, { batchSize: 10, flushIntervalMs: 10, maxQueue: 5 })).toThrow(
      /maxQueue 5 must be at least batchSize 10/,
    );
  });
});
