import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("npm run lab", () => {
  it("runs the whole pipeline and shows streams through the API within seconds", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "lab-"));
    const lab = spawn(
      "npm",
      [
        "run",
        "-s",
        "lab",
        "--",
        "--duration",
        "8",
        "--speed",
        "30",
        "--listeners",
        "200",
        "--http-port",
        "0",
        "--udp-port",
        "0",
        "--data-dir",
        dataDir,
      ],
      {
        cwd: join(__dirname, ".."),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    let output = "";
    lab.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    lab.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => lab.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /lab: dashboard (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(url).toBeDefined();
      let streams = 0;
      while (streams === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const to = Date.now();
        const summary = (await (await fetch(`${url}api/v1/summary?from=${to - 3_600_000}&to=${to}`)).json()) as { streams: number };
        streams = summary.streams;
      }
      expect(streams).toBeGreaterThan(0);
      // --duration ends the lab by itself: a clean stop through npm exits 0.
      expect(await exited).toBe(0);
      expect(output).toMatch(/lab: sent \d+ events in \d+ datagrams .* stored \d+ .* streams [1-9]\d*/);
    } finally {
      if (lab.exitCode === null) process.kill(-lab.pid!, "SIGKILL");
    }
    expect(output).toContain("lab: stopped");
  }, 60_000);
});
