/**
 * SIGTERM under load against a real collector process writing a DuckDB file: intake stops,
 * the queue drains within the bound, the process exits 0, and the file holds exactly what the
 * collector accepted. Also: no user id in logs or metric labels.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UdpEventClient } from "./client/udp-client";
import { sampleEvent } from "../../test-support/collector/events";
import { spawnCollector } from "../../test-support/collector-process";

const SHUTDOWN_BOUND_MS = 10_000;
const SECRET_UID = "uid-that-must-never-be-logged-7f3a9";

describe("SIGTERM under load", () => {
  it("drains into the store within the bound, exits 0, and loses nothing it accepted", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "shutdown-")), "collector.duckdb");
    const collector = await spawnCollector({
      duckdbPath: path,
      args: ["--log-level", "trace", "--shutdown-timeout-ms", String(SHUTDOWN_BOUND_MS)],
    });
    const { udpPort, httpPort, exited } = collector;
    const client = new UdpEventClient({ host: "127.0.0.1", port: udpPort });
    let sent = 0;
    const load = (async () => {
      while (collector.child.exitCode === null && sent < 200_000) {
        const batch = Array.from({ length: 60 }, () => sampleEvent({ id: `term-${sent++}`, uid: SECRET_UID, t: Date.now() }));
        await client.send(batch).catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const signalledAt = Date.now();
    collector.child.kill("SIGTERM");
    const code = await exited;
    const shutdownMs = Date.now() - signalledAt;
    await load;
    await client.close();

    expect(code).toBe(0);
    expect(shutdownMs).toBeLessThan(SHUTDOWN_BOUND_MS);
    const logs = collector.output();
    const final = logs
      .split("\n")
      .filter((line) => line.includes('"msg":"stopped"'))
      .map((line) => JSON.parse(line) as { accepted: number; stored: number; drained: boolean })[0];
    expect(final).toMatchObject({ drained: true });
    expect(final.accepted).toBeGreaterThan(1000);
    expect(final.stored).toBe(final.accepted);
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    const [row] = (await connection.runAndReadAll("SELECT count(*) AS n FROM events")).getRowObjects();
    connection.closeSync();
    instance.closeSync();
    expect(Number(row.n)).toBe(final.accepted);
    // No PII: the pseudonymous user id appears in neither logs (at trace level) nor metrics.
    expect(logs).not.toContain(SECRET_UID);
    expect(metrics).not.toContain(SECRET_UID);
    expect(metrics).toMatch(/collector_events_accepted_total \d+/);
  }, 60_000);
});
