import { VirtualMachine } from "@cdktf/provider-vsphere/lib/virtual-machine";
import { Testing } from "cdktf";
import { testStack, testVsphereSite } from "../test-support/stack";
import { VsphereNodePool, type VsphereNodePoolProps } from "./vsphere-node-pool";

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
