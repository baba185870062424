import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { SiteConfig } from "../config/schema";
import { ClusterProviders } from "../constructs/cluster-providers";
import { EnvironmentNamespace } from "../constructs/environment-namespace";
import type { ClusterAccess } from "../constructs/k3s-cluster";
import { remoteStateOf, useStateBackend } from "../lib/backend";
import { Environment, STAGING_BRANCH } from "../lib/environment";
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
