/**
 * SIGTERM under load against a real collector process writing a DuckDB file: intake stops,
 * the queue drains within the bound, the process exits 0, and the file holds exactly what the
 * collector accepted. Also: no user id in logs or metric labels.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UdpEventClient } from "./client/udp-client";
import { sampleEvent } from "../test/events";

const SHUTDOWN_BOUND_MS = 10_000;
const SECRET_UID = "uid-that-must-never-be-logged-7f3a9";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("SIGTERM under load", () => {
  it("drains into the store within the bound, exits 0, and loses nothing it accepted", async () => {
    const [udpPort, httpPort] = [await freePort(), await freePort()];
    const path = join(mkdtempSync(join(tmpdir(), "shutdown-")), "collector.duckdb");
    const collector = spawn(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(__dirname, "cli", "main.ts"),
        "serve",
        "--udp-port",
        String(udpPort),
        "--udp-hosts",
        "127.0.0.1",
        "--http-port",
        String(httpPort),
        "--http-host",
        "127.0.0.1",
        "--duckdb-path",
        path,
        "--log-level",
        "trace",
        "--shutdown-timeout-ms",
        String(SHUTDOWN_BOUND_MS),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let logs = "";
    collector.stdout.on("data", (chunk: Buffer) => (logs += chunk.toString()));
    collector.stderr.on("data", (chunk: Buffer) => (logs += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => collector.on("exit", (code) => resolve(code)));
    for (let attempt = 0; attempt < 150; attempt++) {
      if (
        await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const client = new UdpEventClient({ host: "127.0.0.1", port: udpPort });
    let sent = 0;
    const load = (async () => {
      while (collector.exitCode === null && sent < 200_000) {
        const batch = Array.from({ length: 60 }, () => sampleEvent({ id: `term-${sent++}`, uid: SECRET_UID, t: Date.now() }));
        await client.send(batch).catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const signalledAt = Date.now();
    collector.kill("SIGTERM");
    const code = await exited;
    const shutdownMs = Date.now() - signalledAt;
    await load;
    await client.close();

    expect(code).toBe(0);
    expect(shutdownMs).toBeLessThan(SHUTDOWN_BOUND_MS);
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
