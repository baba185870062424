/**
 * The ledger is the only contract between the receiving thread and the store thread: one side's
 * writes must be what the other side reads, through a real worker thread on the same buffer.
 */
import { Worker } from "node:worker_threads";
import { SpoolLedger } from "./ledger";

/** Runs in the worker: opens the ledger on the buffer, reports what it sees, writes the reader's slots. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
require("ts-node/register/transpile-only");
const { SpoolLedger } = require(workerData.module);
const ledger = new SpoolLedger(workerData.buffer);
parentPort.postMessage({ written: ledger.written, synced: ledger.synced, flushUpTo: ledger.flushUpTo });
ledger.committed = ledger.synced;
ledger.oldestSegment = 4096;
parentPort.postMessage("done");
`;

describe("the spool ledger", () => {
  it("carries the writer's positions to another thread and the reader's back", async () => {
    const ledger = new SpoolLedger();
    ledger.written = 2 ** 40 + 123; // positions beyond 32 bits stay exact
    ledger.synced = 2 ** 40 + 100;
    ledger.flushUpTo = 2 ** 40 + 50;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer: ledger.buffer, module: require.resolve("./ledger") } });
    const messages: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on("message", (message) => {
        messages.push(message);
        if (message === "done") resolve();
      });
      worker.on("error", reject);
    });
    await worker.terminate();
    expect(messages[0]).toEqual({ written: 2 ** 40 + 123, synced: 2 ** 40 + 100, flushUpTo: 2 ** 40 + 50 });
    expect(ledger.committed).toBe(2 ** 40 + 100);
    expect(ledger.oldestSegment).toBe(4096);
    expect(ledger.backlogBytes).toBe(23);
    expect(ledger.diskBytes).toBe(2 ** 40 + 123 - 4096);
  });

  it("refuses a buffer of the wrong size, naming both sizes", () => {
    expect(() => new SpoolLedger(new SharedArrayBuffer(16))).toThrow("SpoolLedger: buffer has 16 bytes, expected 40");
  });
});
