/**
 * The store thread: it owns the store (DuckDB) so appends, transactions and insight queries
 * never run on the thread that receives UDP. The main thread talks to it through ThreadedStore.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ClickHouseStore } from "./clickhouse-store";
import { DuckDbStore } from "./duckdb-store";
import { lineSinkFor } from "./lines";
import type { Store } from "./store";
import type { StoreRequest, StoreResponse, StoreWorkerData } from "./threaded-store";

async function open(data: StoreWorkerData): Promise<Store> {
  switch (data.kind) {
    case "duckdb":
      return DuckDbStore.open({ path: data.path });
    case "clickhouse":
      return ClickHouseStore.open({
        url: data.url,
        database: data.database,
        username: data.username,
        password: data.password,
        cluster: data.cluster,
      });
  }
}

async function main(): Promise<void> {
  const port = parentPort!;
  let store: Store | undefined;
  let failure: Error | undefined;
  const ready = open(workerData as StoreWorkerData).then(
    (opened) => (store = opened),
    (error: Error) => (failure = error),
  );
  port.on("message", async (request: StoreRequest) => {
    await ready;
    const reply = (response: StoreResponse) => port.postMessage(response);
    try {
      if (!store) throw failure ?? new Error("store did not open");
      let result: unknown;
      switch (request.kind) {
        case "write":
          await lineSinkFor(store).writeBatch(request.lines);
          break;
        case "call":
          result = await (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[request.method](...request.args);
          break;
        case "close":
          await store.close();
          break;
      }
      reply({ id: request.id, ok: true, result });
    } catch (error) {
      reply({ id: request.id, ok: false, error: (error as Error).message });
    }
  });
}

void main();
