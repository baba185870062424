import { ComputeClusterVmAntiAffinityRule } from "@cdktf/provider-vsphere/lib/compute-cluster-vm-anti-affinity-rule";
import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { join } from "node:path";
import type { ExposedPort } from "../lib/exposed-port";
import type { VsphereSite } from "./vsphere-site";
import { VsphereVm, type VmSize } from "./vsphere-vm";

export interface VsphereNodePoolProps {
  readonly site: VsphereSite;
  /** Role of every VM in the pool; also the role tag. */
  readonly role: string;
  /** VM names, one per node; their count is the pool size. */
  readonly names: readonly string[];
  /** One static address per node on the platform network. */
  readonly addresses: readonly string[];
  readonly prefixLength: number;
  readonly gateway: string;
  readonly dnsServers: readonly string[];
  /**
   * DNS search domains for the nodes.
   * @default []
   */
  readonly searchDomains?: readonly string[];
  readonly size: VmSize;
  readonly templateDiskGiB: number;
  /** user-data for node i. */
  readonly userData: readonly string[];
  /** Keep the pool's VMs on different ESXi hosts (a DRS anti-affinity rule). @default false */
  readonly antiAffinity?: boolean;
  /**
   * Ports every node serves to clients.
   * @default []
   */
  readonly exposes?: readonly ExposedPort[];
  /** Network role of the single NIC. @default "platform" */
  readonly network?: string;
  /** Each node's generation (see VsphereVm). @default all 0 */
  readonly generations?: readonly number[];
  /**
   * Drain each node and remove it from its k3s cluster before its VM is destroyed; for servers
   * this refuses when etcd would lose its quorum. @default no destroy-time step
   */
  readonly drainOnDestroy?: { readonly role: "server" | "agent"; readonly defaultKubeconfig: string };
}

/** The destroy-time drain script, shipped with the stack (Terraform runs in cdktf.out/stacks/<id>). */
export const DRAIN_SCRIPT = join(__dirname, "scripts", "drain-node.sh");

/** A set of same-sized VMs on the platform network, optionally spread over hosts. */
export class VsphereNodePool extends Construct {
  readonly nodes: readonly VsphereVm[];
  readonly antiAffinityRule?: ComputeClusterVmAntiAffinityRule;

  constructor(scope: Construct, id: string, props: VsphereNodePoolProps) {
    super(scope, id);
    const count = props.names.length;
    if (props.addresses.length !== count) {
      throw new Error(`VsphereNodePool ${id}: addresses has ${props.addresses.length} entries for ${count} names`);
    }
    if (props.userData.length !== count) {
      throw new Error(`VsphereNodePool ${id}: userData has ${props.userData.length} entries for ${count} names`);
    }
    if (new Set(props.addresses).size !== count)
      throw new Error(`VsphereNodePool ${id}: addresses are not distinct: ${props.addresses.join(", ")}`);
    if (new Set(props.names).size !== count) throw new Error(`VsphereNodePool ${id}: names are not distinct: ${props.names.join(", ")}`);
    if (props.antiAffinity && count < 2) throw new Error(`VsphereNodePool ${id}: antiAffinity needs at least 2 nodes (has ${count})`);

    const drain = props.drainOnDestroy ? new TerraformAsset(this, "drain-script", { path: DRAIN_SCRIPT, type: AssetType.FILE }) : undefined;
    this.nodes = props.names.map(
      (name, index) =>
        new VsphereVm(this, name, {
          site: props.site,
          name,
          role: props.role,
          size: props.size,
          templateDiskGiB: props.templateDiskGiB,
          nics: [
            { network: props.network ?? "platform", address: `${props.addresses[index]}/${props.prefixLength}`, gateway: props.gateway },
          ],
          dnsServers: props.dnsServers,
          searchDomains: props.searchDomains,
          userData: props.userData[index],
          exposes: props.exposes,
          generation: props.generations?.[index] ?? 0,
          ...(drain && props.drainOnDestroy
            ? {
                provisioners: [
                  {
                    type: "local-exec" as const,
                    when: "destroy" as const,
                    command: `sh ${drain.path} ${name} ${props.drainOnDestroy.role}`,
                    environment: { DEFAULT_KUBECONFIG: props.drainOnDestroy.defaultKubeconfig },
                  },
                ],
              }
            : {}),
        }),
    );

    if (props.antiAffinity) {
      const rule = new ComputeClusterVmAntiAffinityRule(this, "anti_affinity", {
        name: `${props.names[0]}-spread`,
        computeClusterId: props.site.computeCluster.id,
        virtualMachineIds: this.nodes.map((node) => node.vm.id),
        mandatory: false,
      });
      // The provider's docs: recreate the rule when a member VM is replaced, or it keeps stale ids.
      rule.addOverride(
        "lifecycle.replace_triggered_by",
        this.nodes.map((node) => `${node.vm.terraformResourceType}.${node.vm.friendlyUniqueId}`),
      );
      this.antiAffinityRule = rule;
    }
  }
}
