/**
 * The image's build step (app/Dockerfile): compile with app/tsconfig.build.json and run the
 * compiled collector the way the container does, store thread included. Docker itself is not
 * available here; this checks everything the Dockerfile relies on.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const app = __dirname;
const root = join(app, "..");

describe("the collector as the image runs it", () => {
  it("compiles to dist/ and serves from the compiled code, with the store on its own thread", async () => {
    execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(app, "tsconfig.build.json")], { cwd: root, stdio: "pipe" });
    expect(existsSync(join(app, "dist", "cli", "main.js"))).toBe(true);
    expect(existsSync(join(app, "dist", "store", "store-worker.js"))).toBe(true);
    expect(readFileSync(join(app, "Dockerfile"), "utf8")).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/);

    const collector = spawn(
      process.execPath,
      [
        join(app, "dist", "cli", "main.js"),
        "serve",
        "--udp-port",
        "0",
        "--udp-hosts",
        "127.0.0.1",
        "--http-port",
        "18479",
        "--http-host",
        "127.0.0.1",
        "--duckdb-path",
        ":memory:",
        "--log-level",
        "warn",
      ],
      {
        cwd: app,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    collector.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      let ready = false;
      for (let attempt = 0; attempt < 100 && !ready; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ready = await fetch("http://127.0.0.1:18479/readyz").then(
          (response) => response.ok,
          () => false,
        );
      }
      expect({ ready, output }).toEqual({ ready: true, output: "" });
      expect(await (await fetch("http://127.0.0.1:18479/")).text()).toContain("streamstats · live");
      expect((await fetch("http://127.0.0.1:18479/assets/chart.umd.min.js")).status).toBe(200);
      const summary = (await (await fetch("http://127.0.0.1:18479/api/v1/summary")).json()) as { streams: number };
      expect(summary.streams).toBe(0);
    } finally {
      const exited = new Promise((resolve) => collector.once("exit", resolve));
      collector.kill("SIGTERM");
      await exited;
    }
    expect(collector.exitCode).toBe(0);
  }, 60_000);
});
