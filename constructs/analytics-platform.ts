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
export const LOCAL_CHARTS = join(__dirname, "..", "app", "charts");
/**
 * The operator chart's CRD-install hook runs `/bin/sh -c` with `crdHook.image.repository:tag`
 * (templates/hooks/crd-install-job.yaml), by default bitnami/kubectl:latest, which Bitnami no
 * longer publishes with version tags. alpine/kubectl has the shell; 1.33 matches our k3s minor.
 */
export const CRD_HOOK_IMAGE = { repository: "alpine/kubectl", tag: "1.33.4" } as const;

export interface AnalyticsPlatformProps {
  /** MetalLB's address ranges ("first-last"). */
  readonly loadBalancerAddresses: readonly string[];
  /** Install the vSphere CSI driver for persistent volumes. @default none (k3s's local-path) */
  readonly vsphereCsi?: VsphereCsiProps;
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

  constructor(scope: Construct, id: string, props: AnalyticsPlatformProps) {
    super(scope, id);
    if (props.loadBalancerAddresses.length === 0) throw new Error(`AnalyticsPlatform ${id}: loadBalancerAddresses is empty`);
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
      dependsOn: [namespace],
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
  }
}
