import { execFileSync } from "node:child_process";
import { HELM_RELEASE_NAME_MAX, isDnsLabel, KUBERNETES_NAME_MAX } from "./names";
import { Environment, resolveEnvironment } from "./environment";

const longBranch = "feature/" + "x".repeat(192);
const eightyA = "feature/" + "a".repeat(71) + "1";
const eightyB = "feature/" + "a".repeat(71) + "2";

const branches = ["main", "staging", "feature/JIRA-123_Add Thing", longBranch, eightyA, eightyB, "Ünïcödé/branch", "release/1.2.3"];

describe("Environment from a branch", () => {
  it.each([
    ["main", "production"],
    ["staging", "staging"],
    ["feature/JIRA-123_Add Thing", "preview"],
    [longBranch, "preview"],
    ["Ünïcödé/branch", "preview"],
    ["release/1.2.3", "preview"],
    ["Main", "preview"],
  ])("%s is %s", (branch, tier) => {
    expect(new Environment(branch, "test").tier).toBe(tier);
  });

  it.each(branches)("%j yields valid Kubernetes, Helm and stack names", (branch) => {
    const environment = new Environment(branch, "test");
    expect(isDnsLabel(environment.slug)).toBe(true);
    expect(environment.slug.length).toBeLessThanOrEqual(28);
    expect(isDnsLabel(environment.namespace, KUBERNETES_NAME_MAX)).toBe(true);
    expect(isDnsLabel(environment.releaseName("clickhouse-operator"), HELM_RELEASE_NAME_MAX)).toBe(true);
    expect(isDnsLabel(environment.resourceName("server", "3"), KUBERNETES_NAME_MAX)).toBe(true);
    // cdktf rejects whitespace and glob characters in stack ids.
    expect(environment.stackId("analytics")).not.toMatch(/[\s*?[\]{}!/]/);
  });

  it("gives distinct slugs to distinct branches, including 80-character names differing only at the end", () => {
    const slugs = branches.map((branch) => new Environment(branch, "test").slug);
    expect(new Set(slugs).size).toBe(branches.length);
    expect(new Environment(eightyA, "test").namespace).not.toBe(new Environment(eightyB, "test").namespace);
    expect(new Environment(eightyA, "test").releaseName("collector")).not.toBe(new Environment(eightyB, "test").releaseName("collector"));
  });

  it("is stable: the same branch always maps to the same ids", () => {
    for (const branch of branches) {
      const first = new Environment(branch, "test");
      const second = new Environment(branch, "again");
      expect(second.slug).toBe(first.slug);
      expect(second.stackId("cluster")).toBe(first.stackId("cluster"));
    }
    // Pinned (hash from `printf %s BRANCH | sha256sum`): a change would orphan deployed previews.
    expect(new Environment("feature/JIRA-123_Add Thing", "test").slug).toBe("feature-jira-123-add-92f784");
  });

  it("rejects an empty branch name", () => {
    expect(() => new Environment("  ", "CDKTF_ENV")).toThrow(/branch name is empty \(from CDKTF_ENV\)/);
  });
});

describe("resolveEnvironment", () => {
  const git = () => "from-git";

  it("prefers CDKTF_ENV over CI variables and git", () => {
    const environment = resolveEnvironment({ env: { CDKTF_ENV: "staging", GITHUB_REF_NAME: "main" }, gitBranch: git });
    expect([environment.branch, environment.source]).toEqual(["staging", "CDKTF_ENV"]);
  });

  it.each([
    [{ GITHUB_HEAD_REF: "pr-branch", GITHUB_REF_NAME: "12/merge" }, "pr-branch", "GITHUB_HEAD_REF"],
    [{ GITHUB_HEAD_REF: "", GITHUB_REF_NAME: "main" }, "main", "GITHUB_REF_NAME"],
    [{ CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "mr", CI_COMMIT_REF_NAME: "x" }, "mr", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"],
    [{ CI_COMMIT_BRANCH: "gl-branch" }, "gl-branch", "CI_COMMIT_BRANCH"],
    [{ CI_COMMIT_REF_NAME: "gl-ref" }, "gl-ref", "CI_COMMIT_REF_NAME"],
  ])("reads CI variables %j", (env, branch, source) => {
    const environment = resolveEnvironment({ env, gitBranch: git });
    expect([environment.branch, environment.source]).toEqual([branch, source]);
  });

  it("falls back to git", () => {
    expect(resolveEnvironment({ env: {}, gitBranch: git }).branch).toBe("from-git");
  });

  it("asks for CDKTF_ENV on a detached HEAD", () => {
    expect(() => resolveEnvironment({ env: {}, gitBranch: () => "HEAD" })).toThrow(/set CDKTF_ENV/);
  });

  it("reads the real git checkout when nothing else is set", () => {
    // This repository is a git checkout; CI may clone it on a branch or at a detached HEAD.
    const head = execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { encoding: "utf8" }).trim();
    if (head === "HEAD") {
      expect(() => resolveEnvironment({ env: {} })).toThrow(/detached HEAD/);
    } else {
      const environment = resolveEnvironment({ env: {} });
      expect([environment.branch, environment.source]).toEqual([head, "git rev-parse --abbrev-ref HEAD"]);
    }
  });
});
