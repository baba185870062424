import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { HelmChartRelease, type RepositoryChart } from "./helm-chart-release";

/** Rancher's packaging of the vSphere CSI driver (there is no upstream Helm chart). */
export const VSPHERE_CSI_CHART: RepositoryChart = {
  repository: "https://charts.rancher.io",
  chart: "rancher-vsphere-csi",
  version: "3.3.2-rancher10",
};

/** The StorageClass our releases name explicitly for their volumes. */
export const VSPHERE_CSI_STORAGE_CLASS = "vsphere-csi";

/**
 * Driver and sidecar images, pinned: the chart picks them by Kubernetes version and falls back
 * to `latest` for versions its table does not list. These are the vSphere CSI v3.3.0 set from
 * the chart's own table (rancher/vsphere-charts charts/rancher-vsphere-csi/values.yaml).
 */
const IMAGES = {
  driver: { repository: "rancher/mirrored-cloud-provider-vsphere-csi-release-driver", tag: "v3.3.0" },
  syncer: { repository: "rancher/mirrored-cloud-provider-vsphere-csi-release-syncer", tag: "v3.3.0" },
  attacher: { repository: "rancher/mirrored-sig-storage-csi-attacher", tag: "v4.5.1" },
  resizer: { repository: "rancher/mirrored-sig-storage-csi-resizer", tag: "v1.10.1" },
  provisioner: { repository: "rancher/mirrored-sig-storage-csi-provisioner", tag: "v4.0.1" },
  snapshotter: { repository: "rancher/mirrored-sig-storage-csi-snapshotter", tag: "v7.0.2" },
  livenessProbe: { repository: "rancher/mirrored-sig-storage-livenessprobe", tag: "v2.12.0" },
  registrar: { repository: "rancher/mirrored-sig-storage-csi-node-driver-registrar", tag: "v2.10.1" },
};

export interface VsphereCsiProps {
  readonly vcenter: string;
  readonly datacenter: string;
  /** Unique per Kubernetes cluster: CNS tags each volume with it. */
  readonly clusterId: string;
  /** Skip vCenter certificate verification (the site's `allowUnverifiedSsl`). */
  readonly insecure: boolean;
  /** @default the datastore's default policy */
  readonly storagePolicyName?: string;
  /** @default any datastore the policy allows */
  readonly datastoreUrl?: string;
}

/**
 * The vSphere CSI driver (CNS): volumes are vSphere disks that follow a pod to another node, so
 * replacing a node keeps ClickHouse's, Keeper's and the collector's data. The vCenter
 * credentials come from the same sensitive variables as the vSphere provider's, into a
 * Secret the driver reads; they are never in release values.
 */
export class VsphereCsi extends Construct {
  readonly release: HelmChartRelease;
  readonly storageClass = VSPHERE_CSI_STORAGE_CLASS;

  constructor(scope: Construct, id: string, props: VsphereCsiProps) {
    super(scope, id);
    for (const field of ["vcenter", "datacenter", "clusterId"] as const) {
      if (!props[field]) throw new Error(`VsphereCsi ${id}: ${field} is empty`);
      if (/["\n]/.test(props[field])) throw new Error(`VsphereCsi ${id}: ${field} "${props[field]}" may not contain quotes or newlines`);
    }
    const variable = (name: string, description: string) => {
      const value = new TerraformVariable(this, name, { type: "string", sensitive: true, description });
      value.overrideLogicalId(name);
      return value.stringValue;
    };
    const user = variable("vsphere_user", "vCenter user (TF_VAR_vsphere_user); needs the CNS privileges listed in the README");
    const password = variable("vsphere_password", "vCenter password (TF_VAR_vsphere_password)");
    // csi-vsphere.conf, the driver's INI configuration (the chart's own template, rendered here).
    const config = [
      "[Global]",
      `cluster-id = "${props.clusterId}"`,
      `user = "${user}"`,
      `password = "${password}"`,
      'port = "443"',
      `insecure-flag = "${props.insecure ? "1" : "0"}"`,
      "",
      `[VirtualCenter "${props.vcenter}"]`,
      `datacenters = "${props.datacenter}"`,
      "",
    ].join("\n");
    const secret = new SecretV1(this, "config", {
      metadata: { name: "vsphere-config-secret", namespace: "kube-system", labels: { "app.kubernetes.io/part-of": "streamstats" } },
      data: { "csi-vsphere.conf": config },
    });
    this.release = new HelmChartRelease(this, "release", {
      name: "vsphere-csi",
      namespace: "kube-system",
      chart: VSPHERE_CSI_CHART,
      values: {
        vCenter: {
          host: props.vcenter,
          datacenters: props.datacenter,
          clusterId: props.clusterId,
          configSecret: { name: "vsphere-config-secret", generate: false },
        },
        storageClass: {
          enabled: true,
          name: VSPHERE_CSI_STORAGE_CLASS,
          // Named explicitly by our releases; k3s's local-path stays the cluster's default.
          isDefault: false,
          allowVolumeExpansion: true,
          storagePolicyName: props.storagePolicyName ?? "",
          datastoreURL: props.datastoreUrl ?? "",
        },
        csiController: {
          image: {
            ...IMAGES.driver,
            csiAttacher: IMAGES.attacher,
            csiResizer: IMAGES.resizer,
            csiProvisioner: IMAGES.provisioner,
            csiSnapshotter: IMAGES.snapshotter,
            livenessProbe: { ...IMAGES.livenessProbe },
            vsphereSyncer: IMAGES.syncer,
          },
        },
        csiNode: { image: { ...IMAGES.driver, nodeDriverRegistrar: { ...IMAGES.registrar }, livenessProbe: { ...IMAGES.livenessProbe } } },
      },
      dependsOn: [secret],
    });
  }
}
