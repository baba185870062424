import { Testing } from "cdktf";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testStack, testVsphereSite } from "../test-support/stack";
import { VsphereVm, type VsphereVmProps } from "./vsphere-vm";

function build(change: Partial<VsphereVmProps> = {}) {
  const stack = testStack();
  const site = testVsphereSite(stack);
  new VsphereVm(stack, "vm", {
    site,
    name: "test-vpn",
    role: "vpn-gateway",
    size: { cpus: 2, memoryMiB: 2048, diskGiB: 20 },
    templateDiskGiB: 20,
    nics: [
      { network: "external", address: "198.51.100.10/28", gateway: "198.51.100.1" },
      { network: "platform", address: "10.20.0.16/24" },
    ],
    dnsServers: ["10.20.0.2"],
    userData: '#cloud-config\nwrite_files: [{path: /etc/x, content: "quoted"}]\n',
    exposes: [{ port: 443, protocol: "udp", description: "DTLS" }],
    ...change,
  });
  // A full synth keeps the `//` comment blocks that Testing.synth strips.
  const outdir = Testing.fullSynth(stack);
  return JSON.parse(readFileSync(join(outdir, "stacks", "test", "cdk.tf.json"), "utf8")) as {
    resource: Record<string, Record<string, Record<string, unknown>>>;
    locals: Record<string, string>;
  };
}

describe("VsphereVm", () => {
  it("gives each NIC its network and the metadata both addresses", () => {
    const vm = Object.values(build().resource.vsphere_virtual_machine)[0];
    expect(vm.network_interface).toEqual([
      {
        adapter_type: "vmxnet3",
        network_id: expect.stringMatching(/^\$\{data\.vsphere_network\.vsphere_network_external_[0-9A-F]{8}\.id\}$/),
      },
      {
        adapter_type: "vmxnet3",
        network_id: expect.stringMatching(/^\$\{data\.vsphere_network\.vsphere_network_platform_[0-9A-F]{8}\.id\}$/),
      },
    ]);
    expect(vm.annotation).toBe("vpn-gateway 198.51.100.10,10.20.0.16 (managed by cdktf; do not edit by hand)");
    expect((vm["//"] as { exposes: unknown }).exposes).toEqual([{ port: 443, protocol: "udp", description: "DTLS" }]);
  });

  it("accepts user-data with double quotes by passing it through a local", () => {
    const synthesized = build();
    expect(Object.values(synthesized.locals)).toEqual(['#cloud-config\nwrite_files: [{path: /etc/x, content: "quoted"}]\n']);
  });

  it.each<[string, Partial<VsphereVmProps>, RegExp]>([
    [
      "a disk smaller than the template",
      { size: { cpus: 2, memoryMiB: 2048, diskGiB: 10 }, templateDiskGiB: 20 },
      /size\.diskGiB 10 is smaller than the template's disk \(20 GiB\)/,
    ],
    ["a name that is not a label", { name: "Bad_Name" }, /name "Bad_Name" is not a DNS-1123 label/],
    ["no NICs", { nics: [] }, /nics is empty/],
    [
      "two default gateways",
      {
        nics: [
          { network: "platform", address: "10.0.0.2/24", gateway: "10.0.0.1" },
          { network: "external", address: "10.1.0.2/24", gateway: "10.1.0.1" },
        ],
      },
      /exactly one of nics must carry the default gateway \(found 2\)/,
    ],
    [
      "an address without prefix",
      { nics: [{ network: "platform", address: "10.0.0.2", gateway: "10.0.0.1" }] },
      /nics\[0\]\.address "10\.0\.0\.2" is not an IPv4 address with prefix/,
    ],
    [
      "an unknown network role",
      { nics: [{ network: "storage", address: "10.0.0.2/24", gateway: "10.0.0.1" }] },
      /no network for role "storage"/,
    ],
  ])("rejects %s", (_kind, change, message) => {
    expect(() => build(change)).toThrow(message);
  });
});
