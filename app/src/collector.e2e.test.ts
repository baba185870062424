import { describeInsightSuite } from "../../test-support/collector/insight-suite";

describeInsightSuite(
  "DuckDB",
  async () => (await import("../../test-support/collector/collector-harness")).startCollector(),
  async (collector) => void (await collector.stop()),
);
