import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TlsProvider } from "@cdktf/provider-tls/lib/provider";
import { planNodes } from "../config/node-plan";
import type { ClusterTierConfig, SiteConfig } from "../config/schema";
import { K3S_CLUSTER_CIDR, K3S_SERVICE_CIDR, K3sCluster, type ClusterAccess } from "../constructs/k3s-cluster";
import type { K3sSiteNetwork } from "../constructs/k3s-user-data";
import { ETCD_S3_CONFIG_SECRET } from "../constructs/platform-backups";
import { useStateBackend } from "../lib/backend";
import type { Environment } from "../lib/environment";
import { CLUSTER_ACCESS_OUTPUTS } from "./cluster-access";

export interface ClusterStackProps {
  readonly environment: Environment;
  readonly site: SiteConfig;
  readonly tier: ClusterTierConfig;
}

/** k3s identity and first-boot configuration; its key material lives in this stack's state. */
export class ClusterStack extends TerraformStack {
  readonly cluster: K3sCluster;
  readonly access: ClusterAccess;

  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    super(scope, id);
    useStateBackend(this, props.site.backend);
    new TlsProvider(this, "tls");
    new RandomProvider(this, "random");
    const plan = planNodes(props.environment, props.tier, props.site.nodeGenerations);

    this.cluster = new K3sCluster(this, "k3s", {
      clusterName: props.environment.slug,
      servers: plan.servers,
      agents: plan.agents,
      ntpServers: props.site.ntp,
      sshAuthorizedKeys: props.site.sshPublicKeys,
      siteNetwork: k3sSiteNetwork(props.site, props.tier),
      etcdSnapshots: {
        scheduleCron: props.site.backups?.etcd.scheduleCron ?? "0 */6 * * *",
        retention: props.site.backups?.etcd.retention ?? 28,
        ...(props.site.backups ? { s3ConfigSecret: ETCD_S3_CONFIG_SECRET } : {}),
      },
      // The etcd snapshot alerts read k3s's own metrics.
      supervisorMetrics: props.site.monitoring !== undefined,
    });
    this.access = this.cluster.access;

    const output = (name: string, value: string, description: string, sensitive = false) =>
      new TerraformOutput(this, name, { value, description, sensitive }).overrideLogicalId(name);
    output("api_endpoint", this.cluster.apiEndpoint, "Kubernetes API endpoint");
    new TerraformOutput(this, "server_addresses", { value: plan.servers.map((node) => node.address) }).overrideLogicalId(
      "server_addresses",
    );
    new TerraformOutput(this, "agent_addresses", { value: plan.agents.map((node) => node.address) }).overrideLogicalId("agent_addresses");
    output("kubeconfig", this.cluster.kubeconfig, "Admin kubeconfig (client cert with system:masters)", true);
    output(
      "write_kubeconfig_command",
      `terraform -chdir=cdktf.out/stacks/${id} output -raw kubeconfig > kubeconfig-${props.environment.slug}.yaml && chmod 600 kubeconfig-${props.environment.slug}.yaml`,
      "Writes the admin kubeconfig to a file (use tofu instead of terraform with OpenTofu)",
    );
    output(CLUSTER_ACCESS_OUTPUTS.host, this.access.host, "API endpoint, for preview environments");
    output(CLUSTER_ACCESS_OUTPUTS.clusterCaCertificate, this.access.clusterCaCertificate, "Server CA certificate (PEM)");
    output(CLUSTER_ACCESS_OUTPUTS.clientCertificate, this.access.clientCertificate, "Admin client certificate (PEM)", true);
    output(CLUSTER_ACCESS_OUTPUTS.clientKey, this.access.clientKey, "Admin client key (PEM)", true);
  }
}

/**
 * The site's proxy and mirrors for this tier's nodes. NO_PROXY always covers loopback and the
 * node network, which k3s leaves to the user, and (redundantly, as k3s adds them itself) the pod
 * and service networks and cluster domains (k3s docs/advanced.md, "Configuring an HTTP proxy").
 */
export function k3sSiteNetwork(site: SiteConfig, tier: ClusterTierConfig): K3sSiteNetwork | undefined {
  const network = site.siteNetwork;
  if (!network) return undefined;
  const noProxy = ["localhost", "127.0.0.1", tier.network.cidr, K3S_CLUSTER_CIDR, K3S_SERVICE_CIDR, ".svc", ".cluster.local"];
  return {
    ...(network.proxy
      ? { proxy: { http: network.proxy.http, https: network.proxy.https, noProxy: [...new Set([...noProxy, ...network.proxy.noProxy])] } }
      : {}),
    ...(network.k3sArtifacts ? { artifacts: network.k3sArtifacts } : {}),
    ...(network.registryMirrors ? { registryMirrors: network.registryMirrors } : {}),
  };
}
