import { truncateSync } from "node:fs";
import { spawnCollector, type CollectorProcess } from "../collector-process";
import { RECORD_HEADER_BYTES, SEGMENT_MAGIC } from "../../app/src/spool/record-format";
import { settled, spooledIds, spoolOnDisk } from "./durability";
import { EventStream } from "./event-stream";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store under test, read directly (not through the collector). */
export interface StoreProbe {
  /** Events stored, and the end of the last stored batch of `spoolId`. */
  state(spoolId: string): Promise<{ stored: number; committed: number }>;
  ids(): Promise<string[]>;
}

/**
 * SIGKILL a collector process mid-stream, optionally tear the spool's last record as an
 * interrupted write would, restart it on the same spool and store, and account for every
 * event exactly: stored = stored at the kill + complete spooled records the store lacked +
 * accepted after the restart, with no id twice and nothing sent well before the crash missing.
 */
export async function killMidStreamAndRestart(options: {
  readonly prefix: string;
  readonly tear: boolean;
  readonly duckdbPath: string;
  readonly spoolDir: string;
  readonly args: readonly string[];
  readonly store: StoreProbe;
}): Promise<void> {
  const { prefix, spoolDir, args } = options;
  const first = await spawnCollector({ duckdbPath: options.duckdbPath, spoolDir, args });
  const stream = new EventStream(first.udpPort, prefix);
  let second: CollectorProcess | undefined;
  try {
    stream.start();
    await sleep(2_500);
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.exited;

    // The store and the spool as the crash left them.
    const onDisk = spoolOnDisk(spoolDir);
    const atKill = await options.store.state(onDisk.id);
    expect(onDisk.end).toBeGreaterThan(atKill.committed);
    let spoolEnd = onDisk.end;
    if (options.tear) {
      // A write interrupted half-way: the last record's header and part of its payload.
      const last = onDisk.lastRecord;
      expect(last.position).toBeGreaterThanOrEqual(atKill.committed);
      spoolEnd = last.position;
      truncateSync(last.segmentPath, SEGMENT_MAGIC.length + (last.position - last.segmentBase) + RECORD_HEADER_BYTES + 5);
    }
    const pending = spooledIds(spoolDir, atKill.committed, spoolEnd);
    expect(pending.length).toBeGreaterThan(0);

    second = await spawnCollector({ duckdbPath: options.duckdbPath, spoolDir, udpPort: first.udpPort, httpPort: first.httpPort, args });
    await sleep(1_500);
    stream.stop();
    const final = await settled(second.base);
    if (options.tear)
      expect(second.output()).toMatch(/"reason":"record cut short".*"msg":"spool: cut a torn record off the newest segment/);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    const ids = await options.store.ids();
    const stored = new Set(ids);
    expect(stored.size).toBe(ids.length); // nothing twice
    expect(ids.length).toBe(atKill.stored + pending.length + final.accepted); // nothing lost
    expect(pending.filter((id) => !stored.has(id))).toEqual([]);
    expect(final.received.events).toBe(final.accepted);
    // Only events sent around the crash may be missing (lost on the wire to a dead port).
    const missingBeforeCrash = stream.sentAt.flatMap((at, n) =>
      at < killedAt - 1_000 && !stored.has(EventStream.idOf(prefix, n)) ? [n] : [],
    );
    expect(missingBeforeCrash).toEqual([]);
  } finally {
    stream.close();
    first.child.kill("SIGKILL");
    second?.child.kill("SIGKILL");
  }
}
