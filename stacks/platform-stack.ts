import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { planNodes } from "../config/node-plan";
import type { ClusterTierConfig, SiteConfig } from "../config/schema";
import { ApiReadinessGate } from "../constructs/api-readiness-gate";
import { K3S_API_PORT, type ClusterAccess } from "../constructs/k3s-cluster";
import { VsphereNodePool } from "../constructs/vsphere-node-pool";
import type { ExposedPort } from "../lib/exposed-port";
import { VsphereSite } from "../constructs/vsphere-site";
import { useStateBackend } from "../lib/backend";
import { vsphereSiteProps } from "./vsphere-site-props";
import type { Environment } from "../lib/environment";

export interface PlatformStackProps {
  readonly environment: Environment;
  readonly site: SiteConfig;
  readonly tier: ClusterTierConfig;
  /** cloud-config per server and per agent, from the cluster stack. */
  readonly serverUserData: readonly string[];
  readonly agentUserData: readonly string[];
  /** The cluster's API and admin credentials, for the readiness gate. */
  readonly clusterAccess: ClusterAccess;
}

/** The environment's folder and the k3s server and agent VMs on vSphere. */
export class PlatformStack extends TerraformStack {
  readonly vsphere: VsphereSite;
  readonly servers: VsphereNodePool;
  readonly agents?: VsphereNodePool;
  /** Resolves once the Kubernetes API answers /readyz: the analytics stack's providers use it. */
  readonly readyApiEndpoint: string;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id);
    useStateBackend(this, props.site.backend);
    const { site, tier, environment } = props;
    const plan = planNodes(environment, tier, site.nodeGenerations);
    this.vsphere = new VsphereSite(
      this,
      "vsphere",
      vsphereSiteProps(site, environment, "platform", { platform: site.vsphere.networks.platform }),
    );
    const pool = (
      role: string,
      nodes: typeof plan.servers,
      size: typeof tier.workers.vm,
      userData: readonly string[],
      antiAffinity: boolean,
      exposes: readonly ExposedPort[],
    ) =>
      new VsphereNodePool(this, role, {
        site: this.vsphere,
        role,
        names: nodes.map((node) => node.name),
        addresses: nodes.map((node) => node.address),
        generations: nodes.map((node) => node.generation),
        prefixLength: plan.prefixLength,
        gateway: tier.network.gateway,
        dnsServers: site.dns.servers,
        searchDomains: site.dns.searchDomains,
        size,
        templateDiskGiB: site.vsphere.template.diskGiB,
        userData,
        antiAffinity,
        exposes,
        // The file write_kubeconfig_command writes, seen from cdktf.out/stacks/<id>.
        drainOnDestroy: { role: role === "server" ? "server" : "agent", defaultKubeconfig: `../../../kubeconfig-${environment.slug}.yaml` },
      });
    // Production spreads etcd members over ESXi hosts; a single host failure then costs one vote.
    this.servers = pool(
      "server",
      plan.servers,
      tier.controlPlane.vm,
      props.serverUserData,
      environment.tier === "production" && plan.servers.length > 1,
      [{ port: K3S_API_PORT, protocol: "tcp", description: "Kubernetes API" }],
    );
    if (plan.agents.length > 0) this.agents = pool("agent", plan.agents, tier.workers.vm, props.agentUserData, false, []);

    const gate = new ApiReadinessGate(this, "api-ready", {
      access: props.clusterAccess,
      after: [...this.servers.nodes, ...(this.agents?.nodes ?? [])].map((node) => node.vm),
    });
    this.readyApiEndpoint = gate.readyEndpoint;

    new TerraformOutput(this, "node_addresses", {
      value: Object.fromEntries([...plan.servers, ...plan.agents].map((node) => [node.name, node.address])),
      description: "Static platform-network address of every node",
    }).overrideLogicalId("node_addresses");
  }
}
