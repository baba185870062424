import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import type { Logger } from "pino";
import { loadAddon } from "../native-addon";

/**
 * The store's threads run at a higher nice value than the receiving thread. On a small node
 * the store's batch work (or a DuckDB checkpoint) can take the CPU for long enough that the
 * socket buffer overflows; the spool lets the store lag instead, and it catches up after.
 * Raising a thread's own nice value needs no privileges.
 */

/** The thread pool size libuv uses (it reads UV_THREADPOOL_SIZE once, default 4). */
function threadPoolSize(): number {
  const configured = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(configured) && configured > 0 ? Math.min(configured, 1024) : 4;
}

/** libuv's thread pool: DuckDB runs every statement there, and the spool's fdatasync too. */
export async function lowerThreadPoolPriority(nice: number, log: Logger): Promise<void> {
  const size = threadPoolSize();
  const result = await loadAddon("storeNice (set storeNice to 0 to do without)").setThreadPoolNice(nice, size);
  if (result.error) throw new Error(`storeNice ${nice}: setpriority failed on the thread pool: ${result.error}`);
  log.info({ nice, threads: result.threads, poolSize: size }, "store thread pool runs at a lower priority than UDP receive");
}

/** The calling thread (the store thread itself). Linux: a thread's id comes from /proc/thread-self. */
export function lowerCurrentThreadPriority(nice: number): void {
  const threadId = Number(readlinkSync("/proc/thread-self").split("/").pop());
  setPriority(threadId, nice);
}
