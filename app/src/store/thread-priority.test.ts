import { readdirSync, readFileSync } from "node:fs";
import { spawnCollector } from "../../../test-support/collector-process";

/** Nice value of every thread of a process, by thread id (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceValues(pid: number): Map<number, number> {
  const values = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    values.set(Number(tid), Number(fields[16]));
  }
  return values;
}

async function niceValuesOfCollector(args: string[]): Promise<{ main: number; lowered: number }> {
  // A pool size other than libuv's default, to see that every pool thread is found.
  const collector = await spawnCollector({
    duckdbPath: ":memory:",
    args: ["--log-level", "warn", ...args],
    env: { UV_THREADPOOL_SIZE: "3" },
  });
  try {
    const values = threadNiceValues(collector.child.pid!);
    return {
      main: values.get(collector.child.pid!)!,
      lowered: [...values.values()].filter((nice) => nice === 7).length,
    };
  } finally {
    collector.child.kill("SIGTERM");
    await collector.exited;
  }
}

describe("store thread priority", () => {
  it("puts the store thread and every thread-pool thread at storeNice, and leaves the receiving thread alone", async () => {
    // 3 pool threads (where DuckDB runs its statements) and the store thread itself.
    expect(await niceValuesOfCollector(["--store-nice", "7"])).toEqual({ main: 0, lowered: 4 });
  }, 60_000);

  it("leaves every thread at the receiving thread's priority with storeNice 0", async () => {
    expect(await niceValuesOfCollector(["--store-nice", "0"])).toEqual({ main: 0, lowered: 0 });
  }, 60_000);
});
