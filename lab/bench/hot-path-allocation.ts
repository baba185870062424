/**
 * Heap bytes the receiving thread's path (decode → admission → spool intake → spool append)
 * allocates per accepted event, with the native decoder and the source limiter on, as the
 * collector runs them. Not a test: `npx ts-node --transpile-only lab/bench/hot-path-allocation.ts`
 * (it re-runs itself with --expose-gc and a young generation large enough that no scavenge
 * happens while it measures, so the heap's growth is what the path allocated).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { encodeEvent } from "../../app/src/client/packer";
import { parseCollectorConfig } from "../../app/src/config";
import { SpoolWriter } from "../../app/src/spool/spool-writer";
import { SinkTelemetry } from "../../app/src/store/store-handle";
import { buildIngestTopology } from "../../app/src/topology";
import { sampleEvent } from "../../test-support/collector/events";

const EVENTS_PER_DATAGRAM = 6;
const DATAGRAMS_PER_TURN = 64;
const TURNS = 400;

if (typeof global.gc !== "function") {
  execFileSync(process.execPath, ["--expose-gc", "--max-semi-space-size=256", "-r", "ts-node/register/transpile-only", __filename], {
    stdio: "inherit",
  });
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "hot-path-"));
const now = Date.now();
const spool = SpoolWriter.open({ dir, maxBytes: 4 * 2 ** 30, segmentBytes: 2 ** 30, fsyncIntervalMs: 0 });
// The collector's own wiring and defaults (native decoder, limiter on), its limits raised for one sender.
const config = parseCollectorConfig({ spoolDir: dir, sourceEventsPerSecond: 1e9, sourceBurst: 1e9, sourceMaxSessions: 1e9 });
const { decode, admission, intake } = buildIngestTopology(config, spool, new SinkTelemetry(), pino({ level: "silent" }));

/** One receive buffer reused for every batch, as the recvmmsg receiver does; ids differ per event. */
function batchBuffer(turn: number): { buffer: Buffer; ends: number[] } {
  const parts: string[] = [];
  const ends: number[] = [];
  let length = 0;
  for (let datagram = 0; datagram < DATAGRAMS_PER_TURN; datagram++) {
    const lines = Array.from({ length: EVENTS_PER_DATAGRAM }, (_, n) =>
      encodeEvent(sampleEvent({ id: `e-${turn}-${datagram}-${n}`, sid: `s-${datagram}`, t: now })),
    ).join("\n");
    parts.push(lines);
    length += Buffer.byteLength(lines);
    ends.push(length);
  }
  return { buffer: Buffer.from(parts.join("")), ends };
}

function runTurn(batch: { buffer: Buffer; ends: number[] }): void {
  let start = 0;
  for (const end of batch.ends) {
    decode.handleDatagram(batch.buffer, "198.51.100.7", start, end);
    start = end;
  }
  admission.endTurn();
}

// Inputs are built first; only the path runs while the heap is measured.
const batches = Array.from({ length: TURNS * 2 }, (_, turn) => batchBuffer(turn));
for (let turn = 0; turn < TURNS; turn++) runTurn(batches[turn]); // warm up: JIT, turn buffer, tables
global.gc!();
const before = process.memoryUsage().heapUsed;
for (let turn = TURNS; turn < 2 * TURNS; turn++) runTurn(batches[turn]);
const grown = process.memoryUsage().heapUsed - before;
const events = TURNS * DATAGRAMS_PER_TURN * EVENTS_PER_DATAGRAM;
const accepted = intake.telemetry.accepted;
process.stdout.write(
  `${events} events measured (${accepted} accepted in all): the heap grew ${grown} bytes, ${(grown / events).toFixed(2)} bytes per event\n`,
);
spool.close();
rmSync(dir, { recursive: true, force: true });
