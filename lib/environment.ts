import { execFileSync } from "node:child_process";
import { boundedName, dnsLabel, HELM_RELEASE_NAME_MAX, KUBERNETES_NAME_MAX } from "./names";

export type Tier = "production" | "staging" | "preview";

/** Longest environment slug; leaves room in every composed name for a prefix and a role. */
export const ENVIRONMENT_SLUG_MAX = 28;

/**
 * One deployable environment, derived deterministically from a branch name: destroying a
 * preview environment means synthesizing it again, so the same branch must always give the
 * same ids, names and state keys.
 */
export class Environment {
  readonly tier: Tier;
  /** DNS-1123 label identifying this environment everywhere (stack ids, names, state keys). */
  readonly slug: string;

  constructor(
    readonly branch: string,
    readonly source: string,
  ) {
    if (branch.trim() === "") throw new Error(`environment: branch name is empty (from ${source})`);
    this.tier = tierOf(branch);
    this.slug = dnsLabel(branch, ENVIRONMENT_SLUG_MAX);
  }

  /** Stack id, e.g. `analytics-feature-x-1a2b3c`. */
  stackId(kind: string): string {
    return `${kind}-${this.slug}`;
  }

  /** A Kubernetes object or vSphere name scoped to this environment (≤ 63 characters). */
  resourceName(...parts: string[]): string {
    return boundedName([this.slug, ...parts], KUBERNETES_NAME_MAX);
  }

  /** A Helm release name scoped to this environment (≤ 53 characters). */
  releaseName(component: string): string {
    return boundedName([this.slug, component], HELM_RELEASE_NAME_MAX);
  }

  /** The namespace the analytics stack deploys into. */
  get namespace(): string {
    return boundedName(["streamstats", this.slug], KUBERNETES_NAME_MAX);
  }

  /** Production and staging own platform, cluster and VPN; previews borrow staging's cluster. */
  get ownsCluster(): boolean {
    return this.tier !== "preview";
  }
}

export function tierOf(branch: string): Tier {
  if (branch === PRODUCTION_BRANCH) return "production";
  if (branch === STAGING_BRANCH) return "staging";
  return "preview";
}

/** The branch that owns the cluster a preview environment deploys into. */
export const STAGING_BRANCH = "staging";
/** The production branch. */
export const PRODUCTION_BRANCH = "main";

type Env = Readonly<Record<string, string | undefined>>;

/** CI variables in the order they are consulted; merge-request source branches come first. */
const CI_BRANCH_VARIABLES = [
  "GITHUB_HEAD_REF", // GitHub Actions, pull_request events: the PR's source branch
  "GITHUB_REF_NAME", // GitHub Actions, push events
  "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", // GitLab merge-request pipelines
  "CI_COMMIT_BRANCH", // GitLab branch pipelines
  "CI_COMMIT_REF_NAME", // GitLab, any ref
] as const;

export interface ResolveOptions {
  readonly env?: Env;
  /** Returns the current git branch; injectable so resolution order can be tested. */
  readonly gitBranch?: () => string | undefined;
}

function gitBranchFromWorkingTree(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** Resolution order: CDKTF_ENV, then CI branch variables (GitHub, GitLab), then git. */
export function resolveEnvironment(options: ResolveOptions = {}): Environment {
  const env = options.env ?? process.env;
  const explicit = env.CDKTF_ENV?.trim();
  if (explicit) return new Environment(explicit, "CDKTF_ENV");
  for (const name of CI_BRANCH_VARIABLES) {
    const value = env[name]?.trim();
    if (value) return new Environment(value, name);
  }
  const branch = (options.gitBranch ?? gitBranchFromWorkingTree)();
  if (!branch || branch === "HEAD") {
    throw new Error(
      "environment: cannot tell the branch (detached HEAD or no git); set CDKTF_ENV to the branch name, e.g. CDKTF_ENV=feature/x",
    );
  }
  return new Environment(branch, "git rev-parse --abbrev-ref HEAD");
}
