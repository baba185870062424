/**
 * Liveness reflects the store thread: a collector whose store thread has ended keeps filling
 * its spool but stores nothing, and only a restart mends that, so /healthz must say so.
 */
import { getJson, startCollector, waitFor } from "../../test-support/collector/collector-harness";
import { StoreThread } from "./store/store-thread";

/** A real store thread that dies as it starts: an out-of-range nice value throws there, uncaught. */
const dyingStoreThread = () => new StoreThread({ kind: "duckdb", path: ":memory:", nice: 99 });

describe("a store thread that ends on its own", () => {
  it("reports why, once, and fails every call after it", async () => {
    const store = dyingStoreThread();
    const reported: Error[] = [];
    store.onFailure((error) => reported.push(error));
    await waitFor(() => reported.length > 0, 10_000, "the store thread to fail");
    expect(reported[0].message).toMatch(/priority/);
    expect(store.failure).toBe(reported[0]);
    await expect(store.countEvents()).rejects.toBe(reported[0]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reported).toHaveLength(1);
    await store.close();
    // Closing is not a failure.
    expect(store.failure).toBeUndefined();
  }, 30_000);

  it("fails the collector's /healthz and /readyz with the reason", async () => {
    const collector = await startCollector({}, dyingStoreThread());
    try {
      await waitFor(async () => (await getJson(collector, "/healthz")).status === 503, 10_000, "/healthz to fail");
      const health = await getJson<{ status: string; reason: string }>(collector, "/healthz");
      expect(health.body).toEqual({ status: "failing", reason: expect.stringMatching(/^store thread ended: .*priority/) });
      expect(await getJson(collector, "/readyz")).toEqual({ status: 503, body: { status: "not ready", reason: health.body.reason } });
      // The same, as the gauges the alert rules read.
      const metrics = await collector.metrics.registry.metrics();
      expect(metrics).toMatch(/^collector_store_alive 0$/m);
      expect(metrics).toMatch(/^collector_ready 0$/m);
    } finally {
      await collector.stop();
    }
  }, 30_000);

  it("leaves a collector with a working store thread healthy", async () => {
    const collector = await startCollector();
    try {
      expect(collector.store).toBeInstanceOf(StoreThread);
      expect(await getJson(collector, "/healthz")).toEqual({ status: 200, body: { status: "ok" } });
      const metrics = await collector.metrics.registry.metrics();
      expect(metrics).toMatch(/^collector_store_alive 1$/m);
      expect(metrics).toMatch(/^collector_ready 1$/m);
    } finally {
      await collector.stop();
    }
  }, 30_000);
});
