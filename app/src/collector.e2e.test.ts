import { describeInsightSuite } from "../test/insight-suite";

describeInsightSuite(
  "DuckDB",
  async () => (await import("../test/collector-harness")).startCollector(),
  async (collector) => void (await collector.stop()),
);
