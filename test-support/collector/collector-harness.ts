import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { UdpEventClient } from "../../app/src/client/udp-client";
import { Collector } from "../../app/src/collector";
import { parseCollectorConfig, type CollectorConfigInput } from "../../app/src/config";
import type { PlaybackEvent } from "../../app/src/protocol/event";
import type { Store } from "../../app/src/store/store";
import type { StoreHandle } from "../../app/src/store/store-handle";

const spoolDirs = new Set<string>();
process.once("exit", () => spoolDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A fresh spool directory, removed when the test process exits. */
export function temporarySpoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "collector-spool-"));
  spoolDirs.add(dir);
  return dir;
}

/**
 * A real collector on loopback (UDP and HTTP on free ports) over the given or an in-memory
 * store, spooling to a fresh temporary directory.
 */
export async function startCollector(overrides: Partial<CollectorConfigInput> = {}, store?: Store | StoreHandle): Promise<Collector> {
  const config = parseCollectorConfig({
    spoolDir: temporarySpoolDir(),
    udpPort: 0,
    httpPort: 0,
    udpHosts: "127.0.0.1",
    httpHost: "127.0.0.1",
    duckdbPath: ":memory:",
    logLevel: "silent",
    flushIntervalMs: 50,
    ...overrides,
  });
  const collector = await Collector.create(config, { store, log: pino({ level: "silent" }) });
  await collector.start();
  return collector;
}

/**
 * Waits until every event received so far is accepted or counted as rejected: accepted events
 * are counted once their event-loop turn is written to the spool, a moment after they arrive.
 */
export async function accountedFor(collector: Collector, timeoutMs = 5_000): Promise<void> {
  const rejected = () => Object.values(collector.stats.rejectedEvents).reduce((sum, count) => sum + count, 0);
  await waitFor(
    () => collector.stats.accepted + rejected() === collector.stats.events,
    timeoutMs,
    "every received event to be accounted for",
  );
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends events through the client library, a few datagrams at a time so loopback never overflows. */
export async function sendEvents(collector: Collector, events: readonly PlaybackEvent[]): Promise<void> {
  const client = new UdpEventClient({ host: "127.0.0.1", port: collector.udpPort });
  for (let index = 0; index < events.length; index += 40) {
    await client.send(events.slice(index, index + 40));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await client.close();
  await waitFor(() => collector.stats.events >= events.length, 10_000, `${events.length} events to arrive`);
  // 30 s, not flush's 10: with the rest of the suite saturating the box, the store's threads
  // (nice 10) can wait that long for a core. A store that still has not taken them says so here.
  if (!(await collector.flush(30_000)))
    throw new Error(`the store took ${collector.stats.storedEvents} of ${collector.stats.accepted} accepted events within 30 s`);
}

export async function getJson<T = unknown>(collector: Collector, path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${collector.httpPort}${path}`);
  return { status: response.status, body: (await response.json()) as T };
}
