import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { planNodes } from "../config/node-plan";
import type { SiteConfig } from "../config/schema";
import { AnalyticsPlatform } from "../constructs/analytics-platform";
import { AnalyticsReleases, CLUSTER_RESOURCES, PREVIEW_RESOURCES } from "../constructs/analytics-releases";
import { ClusterProviders } from "../constructs/cluster-providers";
import { EnvironmentNamespace } from "../constructs/environment-namespace";
import { VSPHERE_CSI_STORAGE_CLASS } from "../constructs/vsphere-csi";
import { PlatformBackups } from "../constructs/platform-backups";
import type { ClusterAccess } from "../constructs/k3s-cluster";
import { remoteStateOf, useStateBackend } from "../lib/backend";
import { Environment, PRODUCTION_BRANCH, STAGING_BRANCH } from "../lib/environment";
import { CLUSTER_ACCESS_OUTPUTS } from "./cluster-access";

export interface AnalyticsStackProps {
  readonly environment: Environment;
  readonly site: SiteConfig;
  /** The cluster stack's access, for environments that own a cluster. Previews omit it. */
  readonly clusterAccess?: ClusterAccess;
}

/** The environment's namespace and releases, deployed into its own or the staging cluster. */
export class AnalyticsStack extends TerraformStack {
  readonly namespace: EnvironmentNamespace;
  /** MetalLB and the ClickHouse operator: only in environments that own their cluster. */
  readonly platform?: AnalyticsPlatform;
  readonly releases: AnalyticsReleases;
  /** S3 credentials and k3s's etcd snapshot Secret, when the site has a backup store. */
  readonly backups?: PlatformBackups;

  constructor(scope: Construct, id: string, props: AnalyticsStackProps) {
    super(scope, id);
    const { environment, site } = props;
    useStateBackend(this, site.backend);
    if (environment.ownsCluster && !props.clusterAccess)
      throw new Error(`AnalyticsStack ${id}: clusterAccess is required for the ${environment.tier} tier`);
    if (!environment.ownsCluster && props.clusterAccess)
      throw new Error(`AnalyticsStack ${id}: a preview deploys into the staging cluster; do not pass clusterAccess`);

    new ClusterProviders(this, "cluster", { access: props.clusterAccess ?? this.stagingClusterAccess(site) });
    this.namespace = new EnvironmentNamespace(this, "namespace", {
      name: environment.namespace,
      environment: environment.slug,
      tier: environment.tier,
      branch: environment.branch,
      ...(environment.tier === "preview" ? { quota: site.tiers.preview.quota } : {}),
    });
    new RandomProvider(this, "random");

    const sizing = environment.tier === "preview" ? site.tiers.preview : site.tiers[environment.tier];
    const monitoring = site.monitoring && {
      labels: { release: site.monitoring.prometheusRelease },
      namespace: site.monitoring.namespace,
      runbookBaseUrl: site.monitoring.runbookBaseUrl,
    };
    if (environment.tier !== "preview") {
      const tier = site.tiers[environment.tier];
      this.platform = new AnalyticsPlatform(this, "platform", {
        loadBalancerAddresses: [`${tier.network.loadBalancers.first}-${tier.network.loadBalancers.last}`],
        ...(tier.storage.class === "vsphere-csi"
          ? {
              vsphereCsi: {
                vcenter: site.vsphere.server,
                datacenter: site.vsphere.datacenter,
                clusterId: `${site.project}-${environment.slug}`,
                insecure: site.vsphere.allowUnverifiedSsl,
                storagePolicyName: tier.storage.storagePolicyName,
                datastoreUrl: tier.storage.datastoreUrl,
              },
            }
          : {}),
        ...(monitoring && site.monitoring ? { monitoring: { ...monitoring, installStack: site.monitoring.installStack } } : {}),
      });
    }
    if (environment.tier !== "preview" && site.backups) {
      this.backups = new PlatformBackups(this, "backups", { store: site.backups.s3, folder: environment.slug });
    }
    // The collector's API is for the VPN (of the cluster's tier) and the ops networks. The gateway
    // masquerades VPN clients to its own platform address, so that address is what pods see.
    const gatewayAddress = vpnGatewayAddress(site, environment.tier === "production" ? "production" : "staging");
    this.releases = new AnalyticsReleases(this, "releases", {
      // The literal name keeps release values readable; the dependency orders creation.
      namespace: environment.namespace,
      releasePrefix: environment.slug,
      clickhouse: sizing.clickhouse,
      collectorReplicas: sizing.collector.replicas,
      apiFrom: [`${gatewayAddress}/32`, ...site.opsNetworks],
      production: environment.tier === "production",
      resources: environment.tier === "preview" ? PREVIEW_RESOURCES : CLUSTER_RESOURCES,
      // Previews get scraping and dashboards, but no alerts: nobody is paged for a branch.
      ...(monitoring ? { monitoring: { ...monitoring, alerts: environment.tier !== "preview" } } : {}),
      // Previews live on staging's cluster and use its storage.
      storageClass: storageClassOf(site.tiers[environment.tier === "production" ? "production" : "staging"].storage.class),
      ...(this.backups && site.backups
        ? {
            backup: {
              store: site.backups.s3,
              folder: `${environment.slug}/clickhouse`,
              scheduleCron: site.backups.clickhouse.scheduleCron,
              retentionDays: site.backups.clickhouse.retentionDays,
              accessKey: this.backups.accessKey,
              secretKey: this.backups.secretKey,
            },
          }
        : {}),
      after: [
        this.namespace.namespace,
        ...(this.platform ? [this.platform.clickhouseOperator.release, this.platform.metallbConfig.release] : []),
        ...(this.platform?.vsphereCsi ? [this.platform.vsphereCsi.release.release] : []),
        // The ServiceMonitor and PrometheusRule CRDs.
        ...(this.platform?.prometheusStack ? [this.platform.prometheusStack.release] : []),
      ],
    });
  }

  /** Previews are not part of staging's synth, so they read its cluster outputs by name. */
  private stagingClusterAccess(site: SiteConfig): ClusterAccess {
    const staging = new Environment(STAGING_BRANCH, "preview target");
    const state = remoteStateOf(this, "staging_cluster", site.backend, staging.stackId("cluster"));
    return {
      host: state.getString(CLUSTER_ACCESS_OUTPUTS.host),
      clusterCaCertificate: state.getString(CLUSTER_ACCESS_OUTPUTS.clusterCaCertificate),
      clientCertificate: state.getString(CLUSTER_ACCESS_OUTPUTS.clientCertificate),
      clientKey: state.getString(CLUSTER_ACCESS_OUTPUTS.clientKey),
    };
  }
}

/** The platform-network address of a cluster tier's VPN gateway (its plan is deterministic). */
export function vpnGatewayAddress(site: SiteConfig, tier: "production" | "staging"): string {
  const owner = new Environment(tier === "production" ? PRODUCTION_BRANCH : STAGING_BRANCH, "vpn gateway");
  return planNodes(owner, site.tiers[tier]).vpnGateway.address;
}

/** The StorageClass name for a tier's storage choice. */
export function storageClassOf(storage: "vsphere-csi" | "local-path"): string {
  return storage === "vsphere-csi" ? VSPHERE_CSI_STORAGE_CLASS : "local-path";
}
