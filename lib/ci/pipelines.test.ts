import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { JsonObject } from "../../test-support/synth";

const root = join(__dirname, "..", "..");
const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
const github = Object.fromEntries(
  readdirSync(join(root, ".github", "workflows")).map((file) => [
    file,
    parse(readFileSync(join(root, ".github", "workflows", file), "utf8")) as JsonObject,
  ]),
);
const gitlab = parse(readFileSync(join(root, ".gitlab-ci.yml"), "utf8")) as JsonObject;

/** `npm ci`, or `npm run <script> [-- args]` of a script that exists. */
function checkStep(where: string, command: string): void {
  if (command === "npm ci") return;
  const match = /^npm run ([a-z:-]+)(?: -- .*)?$/.exec(command);
  expect({ where, command, isNpmRun: Boolean(match) }).toEqual({ where, command, isNpmRun: true });
  expect({ where, script: match![1], exists: match![1] in scripts }).toEqual({ where, script: match![1], exists: true });
}

describe("CI pipelines", () => {
  it("are thin: every GitHub run step and GitLab script line is npm ci or an npm script that exists", () => {
    let steps = 0;
    for (const [file, workflow] of Object.entries(github)) {
      for (const [name, job] of Object.entries(workflow.jobs as Record<string, JsonObject>)) {
        for (const step of job.steps as JsonObject[]) {
          if (step.run) {
            checkStep(`${file} ${name}`, String(step.run).trim());
            steps++;
          } else expect(String(step.uses)).toMatch(/^actions\/(checkout|setup-node)@v\d+$/);
        }
      }
    }
    for (const [name, job] of Object.entries(gitlab)) {
      if (typeof job !== "object" || !job || !("script" in job)) continue;
      for (const line of (job as JsonObject).script as string[]) checkStep(`.gitlab-ci.yml ${name}`, line);
      steps++;
    }
    for (const line of gitlab.default.before_script as string[]) checkStep(".gitlab-ci.yml default", line);
    expect(steps).toBeGreaterThanOrEqual(10);
  });

  it("plan every pull request with the risk gate and one sticky comment, and deploy previews only by label", () => {
    const pr = github["pull-request.yml"];
    expect(pr.on.pull_request.types).toEqual(expect.arrayContaining(["opened", "synchronize", "labeled"]));
    const plan = pr.jobs.plan.steps.find((step: JsonObject) => step.run === "npm run ci:plan");
    expect(plan.env).toMatchObject({ RISK_RULES: "quorum,stateful,destroy", GITHUB_TOKEN: "${{ secrets.GITHUB_TOKEN }}" });
    expect(pr.permissions["pull-requests"]).toBe("write");
    expect(pr.jobs.preview.if).toBe("contains(github.event.pull_request.labels.*.name, 'preview')");
    expect(gitlab.preview.rules[0].if).toContain("$CI_MERGE_REQUEST_LABELS =~ /(^|,)preview(,|$)/");
  });

  it("never apply the same environment twice at once: one concurrency group (resource group) per branch", () => {
    expect(github["pull-request.yml"].jobs.preview.concurrency).toEqual({
      group: "env-${{ github.head_ref }}",
      "cancel-in-progress": false,
    });
    expect(github["pull-request-closed.yml"].concurrency).toEqual({ group: "env-${{ github.head_ref }}", "cancel-in-progress": false });
    expect(github["deploy.yml"].concurrency).toEqual({ group: "env-${{ github.ref_name }}", "cancel-in-progress": false });
    expect(gitlab.preview.resource_group).toBe("env-$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME");
    expect(gitlab["preview-teardown"].resource_group).toBe(gitlab.preview.resource_group);
    expect(gitlab.deploy.resource_group).toBe("env-$CI_COMMIT_BRANCH");
  });

  it("destroy previews on close, reap nightly, and deploy staging and main only through protected environments", () => {
    expect(github["pull-request-closed.yml"].on.pull_request.types).toEqual(["closed"]);
    expect(github["pull-request-closed.yml"].jobs.destroy.steps.at(-1).run).toBe('npm run env -- destroy "$BRANCH"');
    expect(github["reaper.yml"].on.schedule).toHaveLength(1);
    expect(github["reaper.yml"].jobs.reap.steps.at(-1).run).toBe("npm run env -- reap --branches-from origin --max-age 7d");
    const deploy = github["deploy.yml"];
    expect(deploy.on.push.branches).toEqual(["staging", "main"]);
    expect(deploy.jobs.deploy.environment).toBe("${{ github.ref_name == 'main' && 'production' || 'staging' }}");
    expect(deploy.jobs.deploy.steps.at(-1).run).toBe('npm run env -- deploy "$BRANCH" --tier "$TIER"');
    expect(gitlab.deploy.rules.map((rule: JsonObject) => rule.when)).toEqual(["manual", "manual"]);
    expect(gitlab.reap.rules[0].if).toBe('$CI_PIPELINE_SOURCE == "schedule"');
  });

  it("take credentials only from the CI's secret store", () => {
    const text = readdirSync(join(root, ".github", "workflows"))
      .map((file) => readFileSync(join(root, ".github", "workflows", file), "utf8"))
      .join("\n");
    for (const match of text.matchAll(/^\s+(TF_VAR_\w+|PG_CONN_STR|GITHUB_TOKEN): (.*)$/gm))
      expect([match[1], match[2]]).toEqual([match[1], expect.stringMatching(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/)]);
  });
});
