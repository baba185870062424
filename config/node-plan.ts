import type { Environment } from "../lib/environment";
import { addressesFrom, cidrPrefix } from "../lib/ipv4";
import { addressesNeeded, type ClusterTierConfig } from "./schema";

export interface PlannedNode {
  readonly name: string;
  readonly address: string;
  /** Deliberate replacements so far (config/node-generations.json); 0 for an original node. */
  readonly generation: number;
}

export interface NodePlan {
  readonly servers: readonly PlannedNode[];
  readonly agents: readonly PlannedNode[];
  readonly vpnGateway: PlannedNode;
  readonly prefixLength: number;
}

/**
 * Who gets which static address: servers first, then agents, then the VPN gateway's platform
 * NIC, consecutively from the start of the tier's node range. Deterministic, so the cluster
 * stack (certificates, join URLs) and the platform stack (VM NICs) agree without references.
 */
export function planNodes(environment: Environment, tier: ClusterTierConfig, generations: Readonly<Record<string, number>> = {}): NodePlan {
  const addresses = addressesFrom(tier.network.nodes.first, addressesNeeded(tier));
  const named = (role: string, count: number, offset: number): PlannedNode[] =>
    Array.from({ length: count }, (_, index) => {
      const name = environment.resourceName(role, String(index + 1));
      return { name, address: addresses[offset + index], generation: generations[name] ?? 0 };
    });
  const servers = named("server", tier.controlPlane.count, 0);
  const agents = named("agent", tier.workers.count, servers.length);
  return {
    servers,
    agents,
    vpnGateway: {
      name: environment.resourceName("vpn"),
      address: addresses[servers.length + agents.length],
      generation: generations[environment.resourceName("vpn")] ?? 0,
    },
    prefixLength: cidrPrefix(tier.network.cidr),
  };
}
