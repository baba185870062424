/**
 * The store thread: it owns the store (DuckDB or ClickHouse) and the spool consumer, so
 * reading the spool back, parsing, appends and insight queries never run on the thread that
 * receives UDP. The main thread talks to it through StoreThread; the spool positions cross in
 * the ledger's shared memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SpoolLedger } from "../spool/ledger";
import { SpoolConsumer, type CommittingSink } from "../spool/spool-consumer";
import { SpoolReader } from "../spool/spool-reader";
import { ClickHouseStore } from "./clickhouse-store";
import { DuckDbStore } from "./duckdb-store";
import { lowerCurrentThreadPriority } from "./thread-priority";
import { committingSinkFor } from "./committing-sink";
import type { Store } from "./store";
import type { StoreEvent, StoreRequest, StoreResponse, StoreWorkerData } from "./store-thread";

/** Each store reads its own options from the worker data; `kind` and `nice` are not theirs. */
async function open(data: StoreWorkerData): Promise<Store> {
  switch (data.kind) {
    case "duckdb":
      return DuckDbStore.open(data);
    case "clickhouse":
      return ClickHouseStore.open(data);
  }
}

const port = parentPort!;
const { nice } = workerData as StoreWorkerData;
if (nice) lowerCurrentThreadPriority(nice);
let opening: Promise<Store> | undefined;

/** Opens the store on first use, and again after a failed open (a disk that was full, a server that was down). */
function store(): Promise<Store> {
  opening ??= open(workerData as StoreWorkerData).catch((error: Error) => {
    opening = undefined;
    throw error;
  });
  return opening;
}

/** The consumer's sink: each call goes to the store as it is now, so a failed open is retried. */
const sink: CommittingSink = {
  prepare: async () => void (await (await store()).migrate()),
  committedPosition: async (spool) => (await store()).committedPosition(spool),
  write: async (lines, commit) => committingSinkFor(await store()).write(lines, commit),
};

let consumer: SpoolConsumer | undefined;
const emit = (event: StoreEvent) => port.postMessage(event);

port.on("message", async (request: StoreRequest) => {
  const reply = (response: StoreResponse) => port.postMessage(response);
  try {
    let result: unknown;
    switch (request.kind) {
      case "call":
      case "insight": {
        const opened = await store();
        const target = (request.kind === "insight" ? opened.insights : opened) as unknown as Record<
          string,
          (...args: unknown[]) => Promise<unknown>
        >;
        result = await target[request.method](...request.args);
        break;
      }
      case "consume": {
        const ledger = new SpoolLedger(request.ledger);
        const { dir, ...options } = request.options;
        consumer = new SpoolConsumer(
          new SpoolReader(dir, ledger),
          sink,
          { ...options, ledger },
          {
            onReady: (committed) => emit({ event: "ready", committed }),
            onCommit: (to, lines, seconds) => emit({ event: "commit", to, lines, seconds }),
            onError: (error, failures) => emit({ event: "error", message: error.message, failures }),
            onCorrupt: (position, reason) => emit({ event: "corrupt", position, reason }),
          },
        );
        consumer.start();
        break;
      }
      case "stopConsuming":
        await consumer?.stop();
        break;
      case "close":
        await consumer?.stop();
        // A store that never opened has nothing to close.
        if (opening)
          await opening.then(
            (opened) => opened.close(),
            () => undefined,
          );
        break;
    }
    reply({ id: request.id, ok: true, result });
  } catch (error) {
    reply({ id: request.id, ok: false, error: (error as Error).message });
  }
});
