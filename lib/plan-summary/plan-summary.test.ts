import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthBranch } from "../../test-support/synth";
import { flattenAttributes } from "./attributes";
import { analyseImpact } from "./impact";
import { GITHUB_COMMENT_LIMIT, renderImpact } from "./render-impact";
import { renderSummary } from "./summary";
import { readSynthOutput, type StackJson } from "./synth-output";

const fixtures = join(__dirname, "fixtures");
const before = readSynthOutput(join(fixtures, "before"));
const after = readSynthOutput(join(fixtures, "after"));
const root = join(__dirname, "..", "..");

/** Runs the command as a pipeline would. */
function planSummary(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync("npx", ["ts-node", "--transpile-only", "lib/plan-summary/cli.ts", ...args], { cwd: root, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("plan impact on a fixture pair", () => {
  const impact = analyseImpact(before, after);
  const actions = impact.resources.map((resource) => `${resource.action} ${resource.stack}: ${resource.address}`);

  it("classifies created, updated and destroyed resources, a new stack's included", () => {
    expect(actions).toEqual([
      "create analytics-x: helm_release.metallb",
      "update analytics-x: kubernetes_service_v1.udp",
      "update platform-x: vsphere_virtual_machine.vm_a",
      "destroy platform-x: vsphere_virtual_machine.vm_b",
      "create platform-x: vsphere_virtual_machine.vm_c",
      "create vpn-x: vsphere_virtual_machine.gw",
    ]);
  });

  it("shows each changed argument's values, ignoring cdktf's // metadata", () => {
    const vm = impact.resources.find((resource) => resource.address === "vsphere_virtual_machine.vm_a")!;
    expect(vm.changes.map(({ path, before, after }) => ({ path, before, after }))).toEqual([
      { path: "disk[0].size", before: "20", after: "40" },
      { path: "num_cpus", before: "2", after: "4" },
    ]);
  });

  it("flattens nested attributes to paths", () => {
    expect([...flattenAttributes({ a: [{ b: 1 }, { c: [] }], "//": { x: 1 }, d: {} })]).toEqual([
      ["a[0].b", "1"],
      ["a[1].c", "[]"],
      ["d", "{}"],
    ]);
  });
});

describe("plan summary inventory", () => {
  const markdown = renderSummary(after);

  it("counts resources by type per stack", () => {
    expect(markdown).toContain("## platform-x\n\n**3 resources**");
    expect(markdown).toContain("| vsphere_virtual_machine | 2 |");
  });

  it("shows VMs with CPU, memory, disk and IP, and says when an IP is computed", () => {
    expect(markdown).toContain("| x-server-1 | 4 | 4096 | 40 | 10.0.0.10/24 |");
    expect(markdown).toContain("| x-agent-2 | 4 | 8192 | 100 | (known after apply) |");
  });

  it("shows Helm releases with chart, version and namespace", () => {
    expect(markdown).toContain("| x-metallb | metallb | 0.15.2 | metallb-system | https://metallb.github.io/metallb |");
    expect(markdown).toContain("| x-collector | ./chart | (local chart) | streamstats-x | (local) |");
  });

  it("shows exposed ports and protocols", () => {
    expect(markdown).toContain("| vsphere_virtual_machine.gw | 443/udp | AnyConnect DTLS |");
    expect(markdown).toContain("| kubernetes_service_v1.udp | 8126/udp | LoadBalancer |");
  });

  it("shows secrets as (sensitive), never their values", () => {
    expect(markdown).toContain("| var.vsphere_password | (sensitive) |");
    expect(markdown).toContain("| output.kubeconfig | (sensitive) |");
    expect(markdown).toContain("| helm_release.collector auth.token | (sensitive) |");
    expect(markdown).not.toContain("random_password.token.result");
  });

  it("reads the real VMs' addresses back from the gzip+base64 metadata of a real synth", () => {
    const summary = renderSummary(readSynthOutput(synthBranch("staging").outdir));
    expect(summary).toContain("| staging-server-1 | 4 | 8192 | 40 | 10.21.0.10/24 |");
    expect(summary).toContain("6443/tcp | Kubernetes API");
  });
});

describe("plan:summary command", () => {
  it("prints the impact against another synth output, then the inventory", () => {
    const output = execFileSync(
      "npx",
      ["ts-node", "--transpile-only", "lib/plan-summary/cli.ts", "--out", join(fixtures, "after"), "--against", join(fixtures, "before")],
      { cwd: root, encoding: "utf8" },
    );
    expect(output).toContain("**3 to create, 2 to update in place, 0 to replace, 1 to destroy**");
    expect(output).toContain("- `vsphere_virtual_machine.vm_a` (x-server-1)\n  - `disk[0].size`: `20` → `40`");
    expect(output.indexOf("## Risks")).toBeLessThan(output.indexOf("## Changes by stack"));
    expect(output).toContain("# Plan summary");
  });

  it("fails with a clear message when the synth output is missing", () => {
    const run = planSummary(["--out", "/nonexistent"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/manifest\.json not found; run `npm run synth` first/);
  });

  it("names an unknown --fail-on rule and the valid ones", () => {
    const run = planSummary(["--out", join(fixtures, "after"), "--against", join(fixtures, "before"), "--fail-on", "quorom"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('--fail-on "quorom" is not a rule; use quorum, stateful, destroy, replace, major, ports');
  });

  it("fails on destroy and on new ports for the fixture, and passes rules it does not break", () => {
    const args = ["--out", join(fixtures, "after"), "--against", join(fixtures, "before"), "--fail-on"];
    const failing = planSummary([...args, "destroy,ports"]);
    expect(failing.status).toBe(3);
    expect(failing.stderr).toContain("destroy: 1 resources are destroyed (0 of them replaced)");
    expect(failing.stderr).toContain("ports: new exposed port: vpn-x: vsphere_virtual_machine.gw 443/udp");
    expect(planSummary([...args, "quorum,major"]).status).toBe(0);
  });
});

describe("plan:summary with a real terraform plan", () => {
  // Fixture in the documented format: developer.hashicorp.com/terraform/internals/json-format
  // (resource_changes[].change.actions, before/after, *_sensitive, after_unknown, replace_paths).
  const plan = join(fixtures, "plans", "platform-x.json");
  const run = planSummary(["--out", join(fixtures, "after"), "--against", join(fixtures, "before"), "--plan", `platform-x=${plan}`]);

  it("uses the plan's actions for that stack and the inference elsewhere", () => {
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("actions from `terraform show -json` for `platform-x`, inferred elsewhere");
    // vm_a: the plan replaces it (inference said update); vm_b: a no-op in the plan (inference said destroy).
    expect(run.stdout).toContain("**3 to create, 1 to update in place, 1 to replace, 0 to destroy**");
    expect(run.stdout).toContain("- `vsphere_virtual_machine.vm_a` (x-server-1) _(from the terraform plan)_");
    expect(run.stdout).toContain("**replaced because** disk.0.size forces replacement");
    expect(run.stdout).toContain("**replaced because** the provider cannot update it in place");
    expect(run.stdout).not.toContain("vsphere_virtual_machine.vm_b");
  });

  it("shows the plan's values, with sensitive ones redacted and unknown ones said so", () => {
    expect(run.stdout).toContain("- `disk[0].size`: `20` → `10`");
    expect(run.stdout).toContain("- `id`: `vm-101` → `(known after apply)`");
    expect(run.stdout).toContain("`extra_config.guestinfo.userdata`: changes (only in redacted parts)");
    expect(run.stdout).not.toMatch(/c2VjcmV0|secret before|secret after/);
  });

  it("refuses a plan for a stack the synth output does not have", () => {
    const wrong = planSummary(["--out", join(fixtures, "after"), "--against", join(fixtures, "before"), "--plan", `nope-x=${plan}`]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("--plan nope-x: no such stack");
  });
});

describe("plan summary length, for a pull-request comment", () => {
  /** 40 stacks of 20 releases whose 60-line values all change: far over GitHub's 65 536 characters. */
  function largeChange() {
    const side = (replicas: number) => {
      const stacks = new Map<string, StackJson>();
      for (let stack = 0; stack < 40; stack++) {
        const releases: Record<string, Record<string, unknown>> = {};
        for (let release = 0; release < 20; release++) {
          const values = Array.from({ length: 60 }, (_, line) => `key${line}: ${line % 7 === 0 ? replicas : line}`).join("\n");
          releases[`r${release}`] = { name: `release-${stack}-${release}`, chart: "./chart", namespace: "ns", values: [values] };
        }
        stacks.set(`stack-${String(stack).padStart(2, "0")}`, { resource: { helm_release: releases } });
      }
      return { directory: `side-${replicas}`, stacks, dependencies: new Map<string, string[]>() };
    };
    return analyseImpact(side(1), side(2));
  }

  it("keeps the counts and risks, cuts whole stack sections, and says where the full report is", () => {
    const rendered = renderImpact(largeChange(), { against: "base", fullReport: "plan-impact.md" });
    expect(rendered.full.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
    expect(rendered.cut).toBe(true);
    expect(rendered.markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(rendered.markdown).toContain("**0 to create, 800 to update in place, 0 to replace, 0 to destroy**");
    expect(rendered.markdown).toContain("## Risks");
    expect(rendered.markdown).toMatch(/_\d+ stack sections cut to fit 65536 characters; the full report is in `plan-impact\.md`\._/);
    // Sections are cut whole: the last one kept ends with its last release.
    const kept = rendered.markdown.match(/^### stack-\d+$/gm)!;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(40);
  });

  it("prints the cut report and writes the full one with --write", () => {
    const file = join(mkdtempSync(join(tmpdir(), "plan-")), "full.md");
    const run = planSummary([
      "--out",
      join(fixtures, "after"),
      "--against",
      join(fixtures, "before"),
      "--write",
      file,
      "--max-chars",
      "1500",
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout.length).toBeLessThanOrEqual(1500);
    expect(run.stdout).toContain(`the full report is in \`${file}\``);
    const full = readFileSync(file, "utf8");
    expect(full).toContain("### vpn-x");
    expect(full).toContain("# Plan summary");
  });
});
