import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Environment, type Tier } from "../environment";
import { STACK_KINDS, type EnvironmentRecord, type EnvironmentRegistry, type EnvironmentState } from "./registry";

/** One command the CLI runs (or, with --print, shows). */
export interface Command {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export type Verb = "plan" | "deploy" | "destroy";

/** The stacks a branch's environment has: previews only their analytics stack. */
export function stacksOf(environment: Environment): string[] {
  return environment.ownsCluster ? STACK_KINDS.map((kind) => environment.stackId(kind)) : [environment.stackId("analytics")];
}

/** Refuses production and staging unless the caller named the tier: they are never a side effect. */
export function guardTier(environment: Environment, confirmedTier: string | undefined): void {
  if (environment.tier === "preview") {
    if (confirmedTier && confirmedTier !== "preview")
      throw new Error(`environments: ${environment.branch} is a preview, not ${confirmedTier}`);
    return;
  }
  if (confirmedTier !== environment.tier) {
    throw new Error(`environments: refusing ${environment.branch}: it is ${environment.tier}; pass --tier ${environment.tier} to confirm`);
  }
}

/**
 * The cdktf command lines for a verb: synthesize exactly that branch (the same synth that
 * created it, so destroy works after the branch is gone), then run on exactly its stacks.
 */
export function commandsFor(verb: Verb, environment: Environment): Command[] {
  const env = { CDKTF_ENV: environment.branch, CHECKPOINT_DISABLE: "1" };
  const stacks = stacksOf(environment);
  const synth: Command = { argv: ["npx", "cdktf", "synth"], env };
  if (verb === "plan") return [synth, ...stacks.map((stack) => ({ argv: ["npx", "cdktf", "diff", "--skip-synth", stack], env }))];
  // A whole environment's destroy tells the nodes' drain step (drain-node.sh) not to guard etcd.
  const run = verb === "destroy" ? { ...env, STREAMSTATS_DESTROY_ENVIRONMENT: "1" } : env;
  return [
    synth,
    { argv: ["npx", "cdktf", verb, "--skip-synth", "--auto-approve", ...(verb === "destroy" ? [...stacks].reverse() : stacks)], env: run },
  ];
}

export function runCommands(commands: readonly Command[], cwd: string): void {
  for (const command of commands) {
    const run = spawnSync(command.argv[0], command.argv.slice(1), { cwd, stdio: "inherit", env: { ...process.env, ...command.env } });
    if (run.status !== 0) throw new Error(`environments: \`${command.argv.join(" ")}\` failed (exit ${run.status ?? run.signal})`);
  }
}

/** Who and what: from CI when it runs there, else git and the local user. */
export function provenance(cwd: string, env: NodeJS.ProcessEnv = process.env): { commit: string; who: string } {
  let commit = env.GITHUB_SHA ?? env.CI_COMMIT_SHA ?? "";
  if (!commit) {
    try {
      commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      commit = "unknown";
    }
  }
  return { commit, who: env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.USER ?? "unknown" };
}

export function recordFor(environment: Environment, cwd: string, now: Date, env: NodeJS.ProcessEnv = process.env): EnvironmentRecord {
  const { commit, who } = provenance(cwd, env);
  return {
    slug: environment.slug,
    branch: environment.branch,
    tier: environment.tier,
    commit,
    appliedAt: now.toISOString(),
    appliedBy: who,
    stacks: stacksOf(environment),
  };
}

/** `7d`, `36h`, `90m` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([dhm])$/.exec(text.trim());
  if (!match) throw new Error(`environments: --max-age "${text}" must be a number with d, h or m (e.g. 7d)`);
  return Number(match[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as "d" | "h" | "m"];
}

/**
 * Branch names from `git ls-remote --heads <remote>` (a remote name, URL or repository path),
 * or from a file of names, one per line (`file:<path>`).
 */
export function branchesFrom(source: string, cwd: string): Set<string> {
  if (source.startsWith("file:")) {
    return new Set(
      readFileSync(source.slice("file:".length), "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean),
    );
  }
  const output = execFileSync("git", ["ls-remote", "--heads", source], { cwd, encoding: "utf8" });
  return new Set(
    output
      .split("\n")
      .map((line) => /\trefs\/heads\/(.+)$/.exec(line)?.[1])
      .filter((branch): branch is string => Boolean(branch)),
  );
}

export interface ReapDecision {
  readonly slug: string;
  readonly tier: Tier;
  readonly branch?: string;
  readonly action: "destroy" | "keep" | "refuse";
  readonly why: string;
}

/** Which environments the reaper destroys, keeps and refuses, and why; it never picks production or staging. */
export function decideReap(
  environments: readonly EnvironmentState[],
  branches: ReadonlySet<string>,
  maxAgeMs: number | undefined,
  now: Date,
): ReapDecision[] {
  return environments.map((environment): ReapDecision => {
    const base = { slug: environment.slug, tier: environment.tier, ...(environment.record ? { branch: environment.record.branch } : {}) };
    if (environment.tier !== "preview") return { ...base, action: "refuse", why: `${environment.tier} is never reaped` };
    const record = environment.record;
    if (!record) {
      return {
        ...base,
        action: "refuse",
        why: "no environment record, so its branch is unknown; destroy it by hand with CDKTF_ENV=<branch>",
      };
    }
    if (!branches.has(record.branch)) return { ...base, action: "destroy", why: `branch ${record.branch} no longer exists` };
    const age = now.getTime() - Date.parse(record.appliedAt);
    if (maxAgeMs !== undefined && age > maxAgeMs) {
      return {
        ...base,
        action: "destroy",
        why: `last applied ${Math.floor(age / 3_600_000)} h ago, over the ${Math.floor(maxAgeMs / 3_600_000)} h limit`,
      };
    }
    return { ...base, action: "keep", why: "its branch exists and it is within the age limit" };
  });
}

/** Destroys one recorded environment by synthesizing its stored branch again. */
export async function destroyRecorded(
  record: EnvironmentRecord,
  registry: EnvironmentRegistry,
  cwd: string,
  print: (line: string) => void,
  dryRun: boolean,
): Promise<void> {
  const environment = new Environment(record.branch, "environment record");
  if (environment.slug !== record.slug)
    throw new Error(`environments: record ${record.slug} names branch ${record.branch}, whose slug is ${environment.slug}`);
  const commands = commandsFor("destroy", environment);
  for (const command of commands)
    print(
      `${dryRun ? "would run" : "running"}: ${Object.entries(command.env)
        .map(([key, value]) => `${key}=${value}`)
        .join(" ")} ${command.argv.join(" ")}`,
    );
  if (dryRun) return;
  runCommands(commands, cwd);
  await registry.remove(record.slug);
}
