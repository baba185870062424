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
import { Admission } from "../../app/src/pipeline/admission";
import { DecodeStage } from "../../app/src/pipeline/decode-stage";
import { DedupeWindow } from "../../app/src/pipeline/dedupe-window";
import { SourceLimiter } from "../../app/src/pipeline/source-limiter";
import { SpoolIntake } from "../../app/src/pipeline/spool-intake";
import { datagramDecoder } from "../../app/src/protocol/native-decode";
import { SpoolWriter } from "../../app/src/spool/spool-writer";
import { encodeEvent } from "../../app/src/client/packer";
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
const intake = new SpoolIntake(spool, pino({ level: "silent" }));
const dedupe = new DedupeWindow({ windowMs: 600_000, maxEntries: 2_000_000 }, now);
const limiter = new SourceLimiter({ eventsPerSecond: 1e9, burst: 1e9, maxSessionsPerSource: 1e9, maxSources: 1000 });
const admission = new Admission(dedupe, intake, { maxSkewMs: 600_000, limiter });
const decode = new DecodeStage(admission, { maxDatagramBytes: 8192, decoder: datagramDecoder("native") }, () => now);

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
