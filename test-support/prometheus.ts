import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort, waitForHttp } from "./collector-process";

export interface ScrapeTarget {
  /** host:port serving /metrics. */
  readonly address: string;
  /** Target labels, as the Prometheus Operator would set them (namespace, pod). */
  readonly labels: Record<string, string>;
}

export interface PrometheusAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: "pending" | "firing";
  readonly value: string;
}

export interface RunningPrometheus {
  readonly url: string;
  /** An instant query through /api/v1/query; throws with Prometheus's error when it refuses one. */
  query(expr: string): Promise<{ resultType: string; result: unknown[] }>;
  /** The active (pending or firing) alerts, from /api/v1/alerts. */
  alerts(): Promise<PrometheusAlert[]>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus server on loopback with a fresh TSDB, scraping the given targets and
 * evaluating the given rule files at `intervalSeconds` (both scrape and evaluation).
 */
export async function startPrometheus(
  binary: string,
  options: { readonly targets: readonly ScrapeTarget[]; readonly rules: Record<string, unknown>; readonly intervalSeconds?: number },
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
  const interval = `${options.intervalSeconds ?? 1}s`;
  writeFileSync(join(dir, "rules.yaml"), stringify(options.rules));
  writeFileSync(
    join(dir, "prometheus.yaml"),
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: ["rules.yaml"],
      scrape_configs: [
        {
          job_name: "targets",
          static_configs: options.targets.map((target) => ({ targets: [target.address], labels: target.labels })),
        },
      ],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yaml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  server.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  try {
    await waitForHttp(`${url}/-/ready`, 30_000);
  } catch (error) {
    server.kill("SIGKILL");
    throw new Error(`prometheus did not become ready: ${(error as Error).message}\n${stderr}`);
  }
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: (expr) => api(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>("/api/v1/alerts")).alerts,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
