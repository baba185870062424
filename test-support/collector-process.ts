import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free TCP port on loopback (also free for UDP in practice: nothing else binds here). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls until the URL answers 2xx; throws after the timeout. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await fetch(url).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface CollectorProcess {
  readonly child: ChildProcess;
  readonly udpPort: number;
  readonly httpPort: number;
  /** http://<httpHost>:<httpPort> */
  readonly base: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  readonly exited: Promise<number | null>;
}

const ROOT = join(__dirname, "..");

/**
 * Compiles the collector as the image does (tsc with app/tsconfig.build.json) into `outDir`
 * (default app/dist) and returns it, for spawnCollector's `compiled`.
 */
export function compileCollector(outDir = join(ROOT, "app", "dist")): string {
  execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(ROOT, "app", "tsconfig.build.json"), "--outDir", outDir], {
    cwd: ROOT,
    stdio: "pipe",
  });
  return outDir;
}

/**
 * `collector serve` as its own process on free loopback ports, ready when it returns.
 * `compiled` runs a tsc build (as the image does) instead of the sources through ts-node.
 */
export async function spawnCollector(options: {
  duckdbPath: string;
  /** Default: a fresh temporary directory. */
  spoolDir?: string;
  /** Reuse ports, e.g. to restart on the same spool while a sender keeps sending. */
  udpPort?: number;
  httpPort?: number;
  args?: readonly string[];
  compiled?: string;
  /** Added to this process's environment. */
  env?: Readonly<Record<string, string>>;
  /** Runs the collector inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Default 127.0.0.1 for both. */
  udpHost?: string;
  httpHost?: string;
}): Promise<CollectorProcess> {
  const udpPort = options.udpPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const entry = options.compiled
    ? [join(options.compiled, "cli", "main.js")]
    : ["-r", "ts-node/register/transpile-only", join(ROOT, "app", "src", "cli", "main.ts")];
  const udpHost = options.udpHost ?? "127.0.0.1";
  const httpHost = options.httpHost ?? "127.0.0.1";
  const command = options.netns ? "ip" : process.execPath;
  const prefix = options.netns ? ["netns", "exec", options.netns, process.execPath] : [];
  const child = spawn(
    command,
    [
      ...prefix,
      ...entry,
      "serve",
      "--udp-port",
      String(udpPort),
      "--udp-hosts",
      udpHost,
      "--http-port",
      String(httpPort),
      "--http-host",
      httpHost,
      "--duckdb-path",
      options.duckdbPath,
      "--spool-dir",
      options.spoolDir ?? mkdtempSync(join(tmpdir(), "collector-spool-")),
      ...(options.args ?? []),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = `http://${httpHost}:${httpPort}`;
  try {
    await waitForHttp(`${base}/readyz`, 30_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return { child, udpPort, httpPort, base, output: () => output, exited };
}
