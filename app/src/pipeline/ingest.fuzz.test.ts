/**
 * Fuzz pass over decode → validate → skew/dedupe → spool → consumer → a real DuckDB store: a
 * fixed number of runs with a recorded seed, so a failure replays exactly (fast-check prints the path).
 */
import fc from "fast-check";
import { temporarySpoolDir, waitFor } from "../../../test-support/collector/collector-harness";
import { ingestChain } from "../../../test-support/collector/ingest-chain";
import { sampleEvent } from "../../../test-support/collector/events";
import { encodeEvent } from "../client/packer";
import { REJECT_REASONS } from "../protocol/event";
import { DECODERS, datagramDecoder } from "../protocol/native-decode";
import { DuckDbStore } from "../store/duckdb-store";
import { SpoolConsumer } from "../spool/spool-consumer";
import { SpoolReader } from "../spool/spool-reader";
import { SpoolWriter } from "../spool/spool-writer";
import { committingSinkFor } from "../store/committing-sink";

const SEED = 20261126;
const NOW = 1_764_150_000_000;

const line = fc.oneof(
  // valid events, some with repeated ids
  fc
    .record({ n: fc.integer({ min: 0, max: 50 }), listened: fc.nat(100_000) })
    .map(({ n, listened }) => encodeEvent(sampleEvent({ id: `f-${n}`, t: NOW, listened }))),
  // wrong types and versions
  fc.record({ field: fc.constantFrom("v", "t", "seq", "type", "source", "listened"), value: fc.anything() }).map(({ field, value }) => {
    try {
      return JSON.stringify({ ...sampleEvent({ t: NOW }), [field]: value });
    } catch {
      return "{}";
    }
  }),
  // skewed clocks
  fc.integer({ min: -1e9, max: 1e9 }).map((offset) => encodeEvent(sampleEvent({ id: `skew-${offset}`, t: Math.max(0, NOW + offset) }))),
  // garbage and truncation
  fc.string({ maxLength: 200 }),
  fc.nat(300).map((cut) => encodeEvent(sampleEvent({ t: NOW })).slice(0, cut)),
);

const datagram = fc.oneof(
  { weight: 8, arbitrary: fc.array(line, { minLength: 0, maxLength: 8 }).map((lines) => Buffer.from(lines.join("\n"))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1500 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.nat(20_000).map((size) => Buffer.alloc(size, 0x7b)) },
);

describe.each(DECODERS)("fuzzing the ingest pipeline into a real store (%s decoder)", (decoder) => {
  it("never throws, accounts for every line, and stores exactly what it accepted", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(datagram, { minLength: 1, maxLength: 30 }), async (datagrams) => {
        const store = await DuckDbStore.open({ path: ":memory:" });
        await store.migrate();
        const dir = temporarySpoolDir();
        const spool = SpoolWriter.open({ dir, maxBytes: 1 << 20, segmentBytes: 4096, fsyncIntervalMs: 0 });
        const reader = new SpoolReader(dir, spool.ledger);
        const consumer = new SpoolConsumer(reader, committingSinkFor(store), {
          spoolId: spool.spoolId,
          batchSize: 50,
          flushIntervalMs: 5,
          retryBaseMs: 10,
          ledger: spool.ledger,
        });
        try {
          const chain = ingestChain(spool, { decoder: datagramDecoder(decoder), now: NOW });
          for (const payload of datagrams) expect(() => chain.decode.handleDatagram(payload)).not.toThrow();
          chain.endTurn();
          const stats = chain.counters();
          expect(stats.datagrams).toBe(datagrams.length);
          const rejectedEvents = REJECT_REASONS.reduce((sum, reason) => sum + stats.rejectedEvents[reason], 0);
          expect(stats.accepted + rejectedEvents).toBe(stats.events);
          consumer.start();
          await waitFor(() => consumer.committed >= spool.end, 10_000, "the consumer to store the spool");
          expect(await store.countEvents()).toBe(stats.accepted);
        } finally {
          await consumer.stop();
          reader.close();
          spool.close();
          await store.close();
        }
      }),
      { numRuns: 60, seed: SEED },
    );
  }, 120_000);
});
