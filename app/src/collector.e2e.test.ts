import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCollector } from "../../test-support/collector/collector-harness";
import { describeInsightSuite } from "../../test-support/collector/insight-suite";

// A DuckDB file, so that a restarted collector opens the same data.
const dir = mkdtempSync(join(tmpdir(), "insights-duckdb-"));
const duckdbPath = join(dir, "insights.duckdb");

describeInsightSuite("DuckDB", {
  start: () => startCollector({ duckdbPath }),
  restart: async (previous) => {
    await previous.stop();
    return startCollector({ duckdbPath });
  },
  stop: async (collector) => {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  },
});
