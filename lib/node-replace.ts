import { Command } from "commander";
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { planNodes } from "../config/node-plan";
import { NODE_GENERATIONS_FILE, readNodeGenerations, writeNodeGenerations } from "../config/node-generations-file";
import { validateSiteConfig, type SiteConfig } from "../config/schema";
import { site as repositorySite } from "../config/site";
import { Environment, PRODUCTION_BRANCH, STAGING_BRANCH } from "./environment";

export interface ReplacementPlan {
  readonly node: string;
  readonly role: "server" | "agent" | "vpn-gateway";
  readonly from: number;
  readonly to: number;
  readonly generations: Record<string, number>;
  readonly notes: readonly string[];
}

/**
 * Marks exactly one node for replacement: its generation goes up by one, so the next synth
 * replaces that VM and nothing else. Refuses what would lose the cluster (the only etcd
 * server) and a second replacement while one is still pending (uncommitted).
 */
export function planReplacement(node: string, site: SiteConfig, generations: Readonly<Record<string, number>>): ReplacementPlan {
  for (const [branch, tierName] of [
    [PRODUCTION_BRANCH, "production"],
    [STAGING_BRANCH, "staging"],
  ] as const) {
    const tier = site.tiers[tierName];
    const plan = planNodes(new Environment(branch, "node:replace"), tier, generations);
    const server = plan.servers.find((candidate) => candidate.name === node);
    const agent = plan.agents.find((candidate) => candidate.name === node);
    const gateway = plan.vpnGateway.name === node ? plan.vpnGateway : undefined;
    const found = server ?? agent ?? gateway;
    if (!found) continue;
    const notes: string[] = [];
    if (server) {
      if (plan.servers.length === 1) {
        throw new Error(
          `node:replace ${node}: it is ${tierName}'s only etcd server; replacing it starts an empty cluster. Restore it from an etcd snapshot instead (README: "Restore etcd")`,
        );
      }
      notes.push(
        `${node} is an etcd member: ${plan.servers.length - 1} of ${plan.servers.length} stay up, a quorum of ${Math.floor(plan.servers.length / 2) + 1} holds.`,
      );
      if (node === plan.servers[0].name) notes.push(`The new ${node} joins ${plan.servers[1].name} instead of initialising a new cluster.`);
      notes.push("Its destroy step drains it and removes it from the cluster first; it refuses if that would leave etcd without a quorum.");
    }
    if (agent)
      notes.push(`${node} is drained first (PodDisruptionBudgets apply); its pods' volumes stay on vSphere (CSI) and move with them.`);
    const from = found.generation;
    return {
      node,
      role: server ? "server" : agent ? "agent" : "vpn-gateway",
      from,
      to: from + 1,
      generations: { ...generations, [node]: from + 1 },
      notes,
    };
  }
  const known = (["production", "staging"] as const).flatMap((tierName) => {
    const plan = planNodes(
      new Environment(tierName === "production" ? PRODUCTION_BRANCH : STAGING_BRANCH, "node:replace"),
      site.tiers[tierName],
    );
    return [...plan.servers, ...plan.agents, plan.vpnGateway].map((candidate) => candidate.name);
  });
  throw new Error(`node:replace: no node "${node}"; the nodes are ${known.join(", ")}`);
}

/** True when the generations file has changes git has not committed (a replacement is pending). */
function hasPendingChange(file: string): boolean {
  const inside = spawnSync("git", ["rev-parse", "--is-inside-work-tree"], { cwd: dirname(file), encoding: "utf8" });
  if (inside.status !== 0) return false;
  const status = spawnSync("git", ["status", "--porcelain", "--", file], { cwd: dirname(file), encoding: "utf8" });
  return status.stdout.trim() !== "";
}

if (require.main === module) {
  new Command()
    .name("node:replace")
    .description("Mark one node for replacement; the next synth and deploy replace that VM and nothing else")
    .argument("<node>", "the node's name, e.g. main-agent-2")
    .option("--file <path>", "the generations file", NODE_GENERATIONS_FILE)
    .option("--dry-run", "say what would change, write nothing")
    .action((node: string, options: { file: string; dryRun?: boolean }) => {
      try {
        if (hasPendingChange(options.file)) {
          throw new Error(`node:replace: ${options.file} has an uncommitted replacement; deploy and commit it before marking another node`);
        }
        const generations = readNodeGenerations(options.file);
        const site = validateSiteConfig({ ...repositorySite, nodeGenerations: generations });
        const plan = planReplacement(node, site, generations);
        if (!options.dryRun) writeNodeGenerations(plan.generations, options.file);
        process.stdout.write(
          [
            `${options.dryRun ? "Would mark" : "Marked"} ${node} (${plan.role}) for replacement: generation ${plan.from} → ${plan.to} in ${options.file}.`,
            ...plan.notes,
            "Next: npm run synth && npm run plan:summary -- --against <base> (exactly one VM replaced), deploy, wait for the node to be Ready, commit.",
            "",
          ].join("\n"),
        );
      } catch (error) {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    })
    .parse();
}
