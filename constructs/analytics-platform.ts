import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { Construct } from "constructs";
import { join } from "node:path";
import { HelmChartRelease, type RepositoryChart } from "./helm-chart-release";
import { K3S_VERSION } from "./k3s-user-data";
import { VsphereCsi, type VsphereCsiProps } from "./vsphere-csi";

/** Pinned cluster-wide charts. */
export const METALLB_CHART: RepositoryChart = { repository: "https://metallb.github.io/metallb", chart: "metallb", version: "0.16.1" };
export const CLICKHOUSE_OPERATOR_CHART: RepositoryChart = {
  repository: "https://helm.altinity.com",
  chart: "altinity-clickhouse-operator",
  version: "0.25.6",
};
/** The release name kube-prometheus-stack is installed as; its Prometheus selects `release: <this>`. */
export const KUBE_PROMETHEUS_STACK_RELEASE = "kube-prometheus-stack";
export const KUBE_PROMETHEUS_STACK_CHART: RepositoryChart = {
  repository: "https://prometheus-community.github.io/helm-charts",
  chart: "kube-prometheus-stack",
  version: "67.8.0",
};
export const LOCAL_CHARTS = join(__dirname, "..", "app", "charts");
/**
 * The operator chart's CRD-install hook runs `/bin/sh -c` with `crdHook.image.repository:tag`
 * (templates/hooks/crd-install-job.yaml), by default bitnami/kubectl:latest, which Bitnami no
 * longer publishes with version tags. alpine/kubectl has the shell; 1.33 matches our k3s minor.
 */
export const CRD_HOOK_IMAGE = { repository: "alpine/kubectl", tag: "1.33.4" } as const;

/** How the cluster's Prometheus finds our objects, and where alerts link their runbooks. */
export interface PlatformMonitoring {
  /** Labels every ServiceMonitor and PrometheusRule carries (kube-prometheus-stack: `release`). */
  readonly labels: Readonly<Record<string, string>>;
  /** The namespace Prometheus and Grafana run in. */
  readonly namespace: string;
  /** Where docs/runbooks is served. */
  readonly runbookBaseUrl: string;
  /**
   * Install kube-prometheus-stack (KUBE_PROMETHEUS_STACK_CHART) as release `kube-prometheus-stack`
   * in `namespace`; `labels` must then select it (release: kube-prometheus-stack).
   * @default false
   */
  readonly installStack?: boolean;
}

export interface AnalyticsPlatformProps {
  /** MetalLB's address ranges ("first-last"). */
  readonly loadBalancerAddresses: readonly string[];
  /** Install the vSphere CSI driver for persistent volumes. @default none (k3s's local-path) */
  readonly vsphereCsi?: VsphereCsiProps;
  /** MetalLB's metrics, the platform's alert rules, and optionally the Prometheus stack. @default none */
  readonly monitoring?: PlatformMonitoring;
}

/**
 * What a cluster needs once for every analytics environment on it: MetalLB with its pool and
 * L2 advertisement, the Altinity ClickHouse operator, and the system-upgrade-controller with
 * the Plans that keep every node on K3S_VERSION. CRD-backed objects go through a
 * small local chart that depends on the release installing the CRDs (a kubernetes_manifest
 * would fail at plan time before they exist).
 */
export class AnalyticsPlatform extends Construct {
  readonly metallb: HelmChartRelease;
  readonly metallbConfig: HelmChartRelease;
  readonly clickhouseOperator: HelmChartRelease;
  /** Upgrades k3s in place to K3S_VERSION, one node at a time. */
  readonly systemUpgrade: HelmChartRelease;
  readonly vsphereCsi?: VsphereCsi;
  /** kube-prometheus-stack, when `monitoring.installStack`. */
  readonly prometheusStack?: HelmChartRelease;
  /** The platform's alert rules (etcd snapshots, nodes, MetalLB addresses). */
  readonly platformMonitoring?: HelmChartRelease;

  constructor(scope: Construct, id: string, props: AnalyticsPlatformProps) {
    super(scope, id);
    if (props.loadBalancerAddresses.length === 0) throw new Error(`AnalyticsPlatform ${id}: loadBalancerAddresses is empty`);
    const monitoring = props.monitoring;
    if (monitoring?.installStack && monitoring.labels.release !== KUBE_PROMETHEUS_STACK_RELEASE)
      throw new Error(
        `AnalyticsPlatform ${id}: monitoring.labels.release must be "${KUBE_PROMETHEUS_STACK_RELEASE}" when installStack is on (got "${monitoring.labels.release}")`,
      );
    if (monitoring?.installStack) {
      this.prometheusStack = new HelmChartRelease(this, "prometheus-stack", {
        name: KUBE_PROMETHEUS_STACK_RELEASE,
        namespace: monitoring.namespace,
        createNamespace: true,
        chart: KUBE_PROMETHEUS_STACK_CHART,
        values: prometheusStackValues(),
      });
    }
    const crds = this.prometheusStack ? [this.prometheusStack.release] : [];
    const privileged = {
      "pod-security.kubernetes.io/enforce": "privileged",
      "pod-security.kubernetes.io/audit": "privileged",
      "pod-security.kubernetes.io/warn": "privileged",
    };
    // The speaker needs host networking and NET_RAW.
    const namespace = new NamespaceV1(this, "metallb-namespace", { metadata: { name: "metallb-system", labels: privileged } });
    this.metallb = new HelmChartRelease(this, "metallb", {
      name: "metallb",
      namespace: "metallb-system",
      chart: METALLB_CHART,
      ...(monitoring ? { values: metallbMonitoringValues(monitoring.labels) } : {}),
      dependsOn: [namespace, ...crds],
    });
    this.metallbConfig = new HelmChartRelease(this, "metallb-config", {
      name: "metallb-config",
      namespace: "metallb-system",
      chart: { directory: join(LOCAL_CHARTS, "metallb-config") },
      values: { addresses: [...props.loadBalancerAddresses], poolName: "platform" },
      dependsOn: [this.metallb.release],
    });
    this.clickhouseOperator = new HelmChartRelease(this, "clickhouse-operator", {
      name: "clickhouse-operator",
      namespace: "clickhouse-operator",
      createNamespace: true,
      chart: CLICKHOUSE_OPERATOR_CHART,
      values: { crdHook: { image: { ...CRD_HOOK_IMAGE, pullPolicy: "IfNotPresent" } } },
    });
    // Upgrade jobs run privileged with the host's root mounted (k3s docs, upgrades/automated.md).
    const upgradeNamespace = new NamespaceV1(this, "system-upgrade-namespace", {
      metadata: { name: "system-upgrade", labels: privileged },
    });
    this.systemUpgrade = new HelmChartRelease(this, "system-upgrade", {
      name: "system-upgrade",
      namespace: "system-upgrade",
      chart: { directory: join(LOCAL_CHARTS, "system-upgrade") },
      values: { k3sVersion: K3S_VERSION },
      dependsOn: [upgradeNamespace],
    });
    if (props.vsphereCsi) this.vsphereCsi = new VsphereCsi(this, "vsphere-csi", props.vsphereCsi);
    if (monitoring) {
      this.platformMonitoring = new HelmChartRelease(this, "platform-monitoring", {
        name: "platform-monitoring",
        namespace: monitoring.namespace,
        createNamespace: true,
        chart: { directory: join(LOCAL_CHARTS, "platform-monitoring") },
        values: { labels: { ...monitoring.labels }, runbookBaseUrl: monitoring.runbookBaseUrl },
        dependsOn: crds,
      });
    }
  }
}

/**
 * kube-prometheus-stack for a k3s cluster. Its Prometheus selects monitors and rules labelled
 * `release: kube-prometheus-stack` in every namespace (the chart's defaults), which is what our
 * charts carry. k3s runs the controller manager, scheduler and proxy inside its own process with
 * no scrapeable endpoints by default, so their monitors would only raise TargetDown; etcd's
 * metrics need etcd-expose-metrics. KubeNodeNotReady is ours (platform-monitoring) instead.
 */
function prometheusStackValues(): Record<string, unknown> {
  return {
    defaultRules: { disabled: { KubeNodeNotReady: true } },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeProxy: { enabled: false },
    kubeEtcd: { enabled: false },
    prometheus: { prometheusSpec: { retention: "15d" } },
    grafana: {
      // The insights dashboard reads ClickHouse through this data source plugin.
      plugins: ["grafana-clickhouse-datasource"],
      sidecar: {
        dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" },
        datasources: { enabled: true, label: "grafana_datasource", labelValue: "1", searchNamespace: "ALL" },
      },
    },
  };
}

/**
 * MetalLB's own ServiceMonitors and rules (charts/metallb/values.yaml `prometheus.*`), labelled
 * for the site's Prometheus. Its address-pool-exhausted rule is replaced by ours (with a
 * runbook); Prometheus's own cluster-wide RBAC (kube-prometheus-stack's) reads the metrics, so
 * the chart's per-namespace Role for a named Prometheus service account is not needed.
 */
function metallbMonitoringValues(labels: Readonly<Record<string, string>>): Record<string, unknown> {
  return {
    prometheus: {
      rbacPrometheus: false,
      serviceMonitor: {
        enabled: true,
        speaker: { additionalLabels: { ...labels } },
        controller: { additionalLabels: { ...labels } },
      },
      prometheusRule: { enabled: true, additionalLabels: { ...labels }, addressPoolExhausted: { enabled: false } },
    },
  };
}
