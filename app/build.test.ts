/**
 * The image's build step (app/Dockerfile): compile with app/tsconfig.build.json and run the
 * compiled collector the way the container does, store thread included. Docker itself is not
 * available here; this checks everything the Dockerfile relies on.
 */
import { existsSync, readFileSync } from "node:fs";
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
});
