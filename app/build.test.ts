/**
 * The image's build step (app/Dockerfile): compile with app/tsconfig.build.json and run the
 * compiled collector the way the container does, store thread included. Docker itself is not
 * available here; this checks everything the Dockerfile relies on.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ADDON_PATH } from "./src/native-addon";
import { compileCollector, spawnCollector } from "../test-support/collector-process";

const app = __dirname;

describe("the collector as the image runs it", () => {
  it("compiles to dist/ and serves from the compiled code, with the store on its own thread", async () => {
    compileCollector(join(app, "dist"));
    expect(existsSync(join(app, "dist", "cli", "main.js"))).toBe(true);
    expect(existsSync(join(app, "dist", "store", "store-worker.js"))).toBe(true);
    const dockerfile = readFileSync(join(app, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/);
    // The image puts the native addon where the compiled loader looks for it (/app is the app folder).
    const addon = relative(app, ADDON_PATH);
    expect(dockerfile).toContain(`COPY --from=build /src/app/${addon} ./${addon}`);
    expect(existsSync(ADDON_PATH)).toBe(true);

    const collector = await spawnCollector({ duckdbPath: ":memory:", compiled: join(app, "dist"), args: ["--log-level", "warn"] });
    try {
      expect(collector.output()).toBe("");
      expect(await (await fetch(`${collector.base}/`)).text()).toContain("streamstats · live");
      expect((await fetch(`${collector.base}/assets/chart.umd.min.js`)).status).toBe(200);
      const summary = (await (await fetch(`${collector.base}/api/v1/summary`)).json()) as { streams: number };
      expect(summary.streams).toBe(0);
    } finally {
      collector.child.kill("SIGTERM");
    }
    expect(await collector.exited).toBe(0);
  }, 60_000);

  it("runs from the image's layout with only the collector workspace's production dependencies", async () => {
    const root = join(app, "..");
    const image = mkdtempSync(join(tmpdir(), "collector-image-"));
    try {
      // What the Dockerfile's build stage installs and keeps: the app workspace, --omit=dev.
      const build = join(image, "build");
      mkdirSync(join(build, "app"), { recursive: true });
      for (const file of ["package.json", "package-lock.json"]) cpSync(join(root, file), join(build, file));
      cpSync(join(app, "package.json"), join(build, "app", "package.json"));
      execFileSync("npm", ["ci", "--omit=dev", "--workspace", "app", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], {
        cwd: build,
        stdio: "pipe",
      });
      const modules = join(build, "node_modules");
      expect(readdirSync(modules)).not.toContain("cdktf");
      expect(existsSync(join(modules, "@cdktf"))).toBe(false);
      expect(existsSync(join(modules, "typescript"))).toBe(false);
      // The final stage's /app: node_modules, dist, the addon, public.
      const runtime = join(image, "app");
      cpSync(modules, join(runtime, "node_modules"), { recursive: true, verbatimSymlinks: true });
      compileCollector(join(runtime, "dist"));
      cpSync(ADDON_PATH, join(runtime, relative(app, ADDON_PATH)));
      cpSync(join(app, "public"), join(runtime, "public"), { recursive: true });
      const collector = await spawnCollector({ duckdbPath: ":memory:", compiled: join(runtime, "dist"), args: ["--log-level", "warn"] });
      try {
        expect(collector.output()).toBe("");
        expect((await fetch(`${collector.base}/assets/chart.umd.min.js`)).status).toBe(200);
        expect(((await (await fetch(`${collector.base}/api/v1/summary`)).json()) as { streams: number }).streams).toBe(0);
      } finally {
        collector.child.kill("SIGTERM");
      }
      expect(await collector.exited).toBe(0);
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  }, 180_000);
});
