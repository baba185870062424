/**
 * The spool consumer against a real DuckDB store and a real spool, with one fault injected at
 * the boundary: the store's reply to a write that landed is lost, as when a server stops after
 * committing an insert but before answering it.
 */
import { sampleEvent } from "../../../test-support/collector/events";
import { temporarySpoolDir, waitFor } from "../../../test-support/collector/collector-harness";
import { DuckDbStore } from "../store/duckdb-store";
import { committingSinkFor } from "../store/committing-sink";
import { SpoolConsumer, type CommittingSink } from "./spool-consumer";
import { SpoolReader } from "./spool-reader";
import { SpoolWriter } from "./spool-writer";

const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, n) => JSON.stringify(sampleEvent({ id: `${prefix}-${n}` })));

/**
 * A consumer over a real spool and a real DuckDB store, through a sink made from the store's
 * real one (where a test injects its fault); `run` gets the parts and cleans up after.
 */
async function withConsumer(
  faultySink: (real: CommittingSink, spool: SpoolWriter) => CommittingSink,
  run: (parts: {
    store: DuckDbStore;
    spool: SpoolWriter;
    consumer: SpoolConsumer;
    commits: Array<{ to: number; lines: number }>;
    errors: string[];
  }) => Promise<void>,
): Promise<void> {
  const store = await DuckDbStore.open({ path: ":memory:" });
  await store.migrate();
  const dir = temporarySpoolDir();
  const spool = SpoolWriter.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, fsyncIntervalMs: 0 });
  const reader = new SpoolReader(dir, spool.ledger);
  const commits: Array<{ to: number; lines: number }> = [];
  const errors: string[] = [];
  const consumer = new SpoolConsumer(
    reader,
    faultySink(committingSinkFor(store), spool),
    { spoolId: spool.spoolId, batchSize: 1000, flushIntervalMs: 5, retryBaseMs: 10, ledger: spool.ledger },
    { onCommit: (to, count) => commits.push({ to, lines: count }), onError: (error) => errors.push(error.message) },
  );
  try {
    await run({ store, spool, consumer, commits, errors });
  } finally {
    await consumer.stop();
    reader.close();
    spool.close();
    await store.close();
  }
}

describe("a write whose reply is lost after it landed", () => {
  it("is found in the store on resync and reported as committed once, with its lines", async () => {
    let replyLost = false;
    const lostOnce = (real: CommittingSink): CommittingSink => ({
      ...real,
      async write(batch, commit) {
        await real.write(batch, commit);
        if (!replyLost) {
          replyLost = true;
          throw new Error("reply lost after the write landed");
        }
      },
    });
    await withConsumer(lostOnce, async ({ store, spool, consumer, commits, errors }) => {
      spool.append(lines("first", 50));
      const firstEnd = spool.end;
      consumer.start();
      await waitFor(() => commits.length === 1, 10_000, "the first batch to be reported");
      spool.append(lines("second", 20));
      await waitFor(() => commits.length === 2, 10_000, "the second batch to be reported");

      expect(errors).toEqual(["reply lost after the write landed"]);
      expect(commits).toEqual([
        { to: firstEnd, lines: 50 },
        { to: spool.end, lines: 20 },
      ]);
      expect(await store.countEvents()).toBe(70);
    });
  }, 30_000);

  it("asks the store where it got to before writing a batch over a different range", async () => {
    let writes = 0;
    let unreachable = false;
    const lostThenUnreachable = (real: CommittingSink, spool: SpoolWriter): CommittingSink => ({
      ...real,
      async committedPosition(spoolId) {
        // The partition goes on after the lost reply: the first question fails too.
        if (unreachable) {
          unreachable = false;
          throw new Error("store unreachable");
        }
        return real.committedPosition(spoolId);
      },
      async write(batch, commit) {
        await real.write(batch, commit);
        if (++writes === 1) {
          unreachable = true;
          // More records arrive meanwhile, so a blind retry would span a longer range.
          spool.append(lines("later", 10));
          throw new Error("reply lost after the write landed");
        }
      },
    });
    await withConsumer(lostThenUnreachable, async ({ store, spool, consumer, errors }) => {
      spool.append(lines("first", 30));
      consumer.start();
      await waitFor(() => consumer.committed >= spool.end, 10_000, "the consumer to store everything");
      // DuckDB refuses an overlapping range ("overlaps what is stored"); a store that keys
      // batches by their range alone would have stored the first 30 again.
      expect(errors).toEqual(["reply lost after the write landed"]);
      expect(await store.countEvents()).toBe(40);
    });
  }, 30_000);
});
