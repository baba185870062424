import { VirtualMachine } from "@cdktf/provider-vsphere/lib/virtual-machine";
import { Testing } from "cdktf";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testStack, testVsphereSite } from "../test-support/stack";
import { describeWithTool, requireTool, shellcheck } from "../test-support/tools";
import { DRAIN_SCRIPT, VsphereNodePool, type VsphereNodePoolProps } from "./vsphere-node-pool";

function build(change: Partial<VsphereNodePoolProps> = {}) {
  const stack = testStack();
  new VsphereNodePool(stack, "servers", {
    site: testVsphereSite(stack),
    role: "server",
    names: ["t-server-1", "t-server-2", "t-server-3"],
    addresses: ["10.0.0.10", "10.0.0.11", "10.0.0.12"],
    prefixLength: 24,
    gateway: "10.0.0.1",
    dnsServers: ["10.0.0.2"],
    size: { cpus: 2, memoryMiB: 4096, diskGiB: 40 },
    templateDiskGiB: 20,
    userData: ["#cloud-config\n", "#cloud-config\n", "#cloud-config\n"],
    antiAffinity: true,
    ...change,
  });
  return Testing.synth(stack);
}

describe("VsphereNodePool", () => {
  it("creates one VM per name and a rule that is replaced with its members", () => {
    const synthesized = build();
    expect(synthesized).toHaveResourceWithProperties(VirtualMachine, { name: "t-server-2", num_cpus: 2 });
    const rule = Object.values(
      (JSON.parse(synthesized).resource.vsphere_compute_cluster_vm_anti_affinity_rule ?? {}) as Record<
        string,
        { lifecycle: { replace_triggered_by: string[] } }
      >,
    )[0];
    expect(rule.lifecycle.replace_triggered_by).toHaveLength(3);
  });

  it.each<[string, Partial<VsphereNodePoolProps>, RegExp]>([
    ["fewer addresses than names", { addresses: ["10.0.0.10", "10.0.0.11"] }, /addresses has 2 entries for 3 names/],
    ["repeated addresses", { addresses: ["10.0.0.10", "10.0.0.10", "10.0.0.12"] }, /addresses are not distinct/],
    [
      "anti-affinity for one node",
      { names: ["t-1"], addresses: ["10.0.0.10"], userData: ["#cloud-config\n"] },
      /antiAffinity needs at least 2 nodes \(has 1\)/,
    ],
  ])("rejects %s", (_kind, change, message) => {
    expect(() => build(change)).toThrow(message);
  });
});

/**
 * The destroy-time drain script, run by sh with a stand-in kubectl on PATH: the cluster's API is
 * the one thing that cannot run here. The stand-in answers from a member list and logs writes.
 */
describe("drain-node.sh (the destroy-time step)", () => {
  function run(node: string, role: "server" | "agent", members: Array<[string, "True" | "False"]>, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), "drain-"));
    const kubeconfig = join(dir, "kubeconfig.yaml");
    writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
    const log = join(dir, "kubectl.log");
    writeFileSync(
      join(dir, "kubectl"),
      [
        "#!/bin/sh",
        `echo "$*" >> '${log}'`,
        'case "$1 $2" in',
        `  "get node") case " ${members.map(([name]) => name).join(" ")} " in *" $3 "*) exit 0;; *) exit 1;; esac;;`,
        `  "get nodes") printf '${members.map(([name, ready]) => `${name} ${ready}\\n`).join("")}';;`,
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const result = spawnSync("sh", [DRAIN_SCRIPT, node, role], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, DEFAULT_KUBECONFIG: kubeconfig, ...env },
    });
    const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
    return {
      status: result.status,
      output: `${result.stdout}${result.stderr}`,
      writes: calls.filter((call) => /^(drain|delete)/.test(call)),
    };
  }
  const three: Array<[string, "True" | "False"]> = [
    ["t-server-1", "True"],
    ["t-server-2", "True"],
    ["t-server-3", "True"],
  ];

  it("drains and removes an agent", () => {
    const result = run("t-agent-1", "agent", [...three, ["t-agent-1", "True"]]);
    expect(result).toMatchObject({ status: 0 });
    expect(result.writes).toEqual([
      "drain t-agent-1 --ignore-daemonsets --delete-emptydir-data --force --timeout=15m --skip-wait-for-delete-timeout=60",
      "delete node t-agent-1 --wait=true",
    ]);
  });

  it("removes an etcd member when the others keep a quorum, also when the member itself is broken", () => {
    expect(run("t-server-2", "server", three)).toMatchObject({
      status: 0,
      writes: [expect.stringMatching(/^drain t-server-2/), "delete node t-server-2 --wait=true"],
    });
    const broken = run("t-server-2", "server", [
      ["t-server-1", "True"],
      ["t-server-2", "False"],
      ["t-server-3", "True"],
    ]);
    expect(broken.status).toBe(0);
  });

  it("refuses to remove an etcd member when the others would not keep a quorum, and drains nothing", () => {
    const result = run("t-server-2", "server", [
      ["t-server-1", "True"],
      ["t-server-2", "True"],
      ["t-server-3", "False"],
    ]);
    expect(result.status).toBe(1);
    expect(result.output).toContain("refusing to remove etcd member t-server-2: 1 other members are Ready, a quorum of 3 needs 2");
    expect(result.writes).toEqual([]);
  });

  it("lets a whole environment's destroy through without draining or guarding etcd", () => {
    const result = run(
      "t-server-2",
      "server",
      [
        ["t-server-1", "False"],
        ["t-server-2", "True"],
        ["t-server-3", "False"],
      ],
      { STREAMSTATS_DESTROY_ENVIRONMENT: "1" },
    );
    expect(result).toMatchObject({ status: 0, writes: [] });
    expect(result.output).toContain("the whole environment is being destroyed");
  });

  it("does nothing for a node the cluster does not have, and stops without a kubeconfig", () => {
    expect(run("t-agent-9", "agent", three)).toMatchObject({ status: 0, writes: [] });
    const missing = run("t-agent-1", "agent", three, { DEFAULT_KUBECONFIG: "/nonexistent/kubeconfig" });
    expect(missing.status).toBe(1);
    expect(missing.output).toContain("no readable kubeconfig");
  });

  it("is attached to every node of a pool as a destroy-time step", () => {
    const stack = testStack();
    new VsphereNodePool(stack, "agents", {
      site: testVsphereSite(stack),
      role: "agent",
      names: ["t-agent-1"],
      addresses: ["10.0.0.20"],
      prefixLength: 24,
      gateway: "10.0.0.1",
      dnsServers: ["10.0.0.2"],
      size: { cpus: 2, memoryMiB: 4096, diskGiB: 40 },
      templateDiskGiB: 20,
      userData: ["#cloud-config\n"],
      drainOnDestroy: { role: "agent", defaultKubeconfig: "../../../kubeconfig-test.yaml" },
    });
    const vm = Object.values(
      JSON.parse(Testing.synth(stack)).resource.vsphere_virtual_machine as Record<string, { provisioner: unknown }>,
    )[0];
    expect(vm.provisioner).toEqual([
      {
        "local-exec": {
          command: expect.stringMatching(/^sh assets\/agents_drain-script_[0-9A-F]+\/[0-9A-F]+\/drain-node\.sh t-agent-1 agent$/),
          environment: { DEFAULT_KUBECONFIG: "../../../kubeconfig-test.yaml" },
          when: "destroy",
        },
      },
    ]);
  });
});

const shellcheckPath = requireTool("shellcheck", "apt-get install shellcheck");
describeWithTool(shellcheckPath)("drain-node.sh under the real shellcheck", () => {
  it("passes", () => {
    expect(shellcheck(shellcheckPath!, readFileSync(DRAIN_SCRIPT, "utf8"))).toMatchObject({ status: 0, output: "" });
  });
});
