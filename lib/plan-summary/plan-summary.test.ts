import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { synthBranch } from "../../test-support/synth";
import { diffSynthOutputs, flattenAttributes } from "./diff";
import { renderSummary } from "./summary";
import { readSynthOutput } from "./synth-output";

const fixtures = join(__dirname, "fixtures");
const before = readSynthOutput(join(fixtures, "before"));
const after = readSynthOutput(join(fixtures, "after"));

describe("plan summary diff on a fixture pair", () => {
  const diff = diffSynthOutputs(before, after);

  it("lists added resources, including those of a new stack", () => {
    expect(diff.added).toEqual([
      "analytics-x: helm_release.metallb",
      "platform-x: vsphere_virtual_machine.vm_c",
      "vpn-x: vsphere_virtual_machine.gw",
    ]);
  });

  it("lists removed resources", () => {
    expect(diff.removed).toEqual(["platform-x: vsphere_virtual_machine.vm_b"]);
  });

  it("lists changed resources with their attribute paths, ignoring cdktf's // metadata", () => {
    expect(diff.changed).toEqual([
      { address: "analytics-x: kubernetes_service_v1.udp", paths: ["spec.port[0].port"] },
      { address: "platform-x: vsphere_virtual_machine.vm_a", paths: ["disk[0].size", "num_cpus"] },
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

describe("plan summary rendering", () => {
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
  it("prints the summary and the diff against another synth output", () => {
    const output = execFileSync(
      "npx",
      ["ts-node", "--transpile-only", "lib/plan-summary/cli.ts", "--out", join(fixtures, "after"), "--against", join(fixtures, "before")],
      {
        cwd: join(__dirname, "..", ".."),
        encoding: "utf8",
      },
    );
    expect(output).toContain("# Plan summary");
    expect(output).toContain("**3 added, 1 removed, 2 changed**");
    expect(output).toContain("- `platform-x: vsphere_virtual_machine.vm_a`: `disk[0].size`, `num_cpus`");
  });

  it("fails with a clear message when the synth output is missing", () => {
    expect(() =>
      execFileSync("npx", ["ts-node", "--transpile-only", "lib/plan-summary/cli.ts", "--out", "/nonexistent"], {
        cwd: join(__dirname, "..", ".."),
        encoding: "utf8",
        stdio: "pipe",
      }),
    ).toThrow(/manifest\.json not found; run `npm run synth` first/);
  });
});
