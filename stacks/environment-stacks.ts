import type { App } from "cdktf";
import type { SiteConfig } from "../config/schema";
import type { Environment } from "../lib/environment";
import { AnalyticsStack } from "./analytics-stack";
import { ClusterStack } from "./cluster-stack";
import { PlatformStack } from "./platform-stack";
import { VpnStack } from "./vpn-stack";

export interface EnvironmentStacks {
  readonly cluster?: ClusterStack;
  readonly platform?: PlatformStack;
  readonly vpn?: VpnStack;
  readonly analytics: AnalyticsStack;
}

/**
 * Production and staging own their cluster (PKI and cloud-init), VMs, VPN gateway and analytics releases;
 * a preview only gets an analytics stack in a namespace of the staging cluster.
 */
export function addEnvironmentStacks(app: App, environment: Environment, site: SiteConfig): EnvironmentStacks {
  if (environment.tier === "preview") {
    return { analytics: new AnalyticsStack(app, environment.stackId("analytics"), { environment, site }) };
  }
  const tier = site.tiers[environment.tier];
  const cluster = new ClusterStack(app, environment.stackId("cluster"), { environment, site, tier });
  const platform = new PlatformStack(app, environment.stackId("platform"), {
    environment,
    site,
    tier,
    serverUserData: cluster.cluster.serverUserData,
    agentUserData: cluster.cluster.agentUserData,
    clusterAccess: cluster.access,
  });
  const vpn = new VpnStack(app, environment.stackId("vpn"), { environment, site, tier });
  // The providers' host comes from the platform stack's readiness gate, so the first analytics
  // request waits until k3s answers /readyz (and cdktf orders the stacks by that reference).
  const analytics = new AnalyticsStack(app, environment.stackId("analytics"), {
    environment,
    site,
    clusterAccess: { ...cluster.access, host: platform.readyApiEndpoint },
  });
  return { cluster, platform, vpn, analytics };
}
