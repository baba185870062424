import { Testing } from "cdktf";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testStack, testVsphereSite } from "../test-support/stack";
import { evaluateTemplate } from "../test-support/terraform-template";
import { describeWithTool, requireTool } from "../test-support/tools";
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

/** Debian's cloud-init runs on the system python, which has its modules. */
const systemPython = existsSync("/usr/lib/python3/dist-packages/cloudinit/sources/DataSourceVMware.py")
  ? "/usr/bin/python3"
  : requireTool("cloud-init-python-modules", "apt-get install cloud-init");

describe("VsphereVm guestinfo in the plan", () => {
  it("never lets the provider restore the guestinfo the guest redacted", () => {
    const vm = Object.values(build().resource.vsphere_virtual_machine)[0];
    expect((vm.lifecycle as { ignore_changes: string[] }).ignore_changes).toEqual(["extra_config"]);
    expect(vm.replace_trigger).toBe("test-vpn/generation-0");
  });

  it("is replaced by a new generation, and by new user-data only when asked to", () => {
    const trigger = (change: Partial<VsphereVmProps>) => Object.values(build(change).resource.vsphere_virtual_machine)[0].replace_trigger;
    expect(trigger({ generation: 2 })).toBe("test-vpn/generation-2");
    expect(trigger({ replaceWhenChanged: "ocserv.conf v2" })).toMatch(
      /^test-vpn\/generation-0\/\$\{sha256\(local\.vm_rebuild_on_[0-9A-F]{8}\)\}$/,
    );
    expect(() => build({ generation: -1 })).toThrow(/generation -1 must be a whole number/);
  });
});

describeWithTool(systemPython)("VsphereVm guestinfo, read by cloud-init's own VMware datasource", () => {
  it("hands over the user-data, then cloud-init redacts it from guestinfo", () => {
    const userData = "#cloud-config\nwrite_files: [{path: /etc/secret, content: not-for-vcenter}]\n";
    const synthesized = build({ userData });
    const vm = Object.values(synthesized.resource.vsphere_virtual_machine)[0];
    const extraConfig = vm.extra_config as Record<string, string>;
    // What vSphere puts into guestinfo: the provider's values, Terraform functions evaluated.
    const guestinfo = Object.fromEntries(
      Object.entries(extraConfig).map(([key, value]) => [
        key,
        evaluateTemplate(value, (reference) => {
          const local = /^local\.(.+)$/.exec(reference);
          if (!local) throw new Error(`unexpected reference ${reference}`);
          return synthesized.locals[local[1]];
        }),
      ]),
    );
    const workdir = mkdtempSync(join(tmpdir(), "guestinfo-"));
    writeFileSync(join(workdir, "guestinfo.json"), JSON.stringify(guestinfo));
    const run = spawnSync(
      systemPython!,
      [join(__dirname, "..", "test-support", "cloud-init-vmware.py"), join(workdir, "guestinfo.json"), workdir],
      {
        encoding: "utf8",
      },
    );
    expect(run.stderr.split("\n").filter((line) => / (ERROR|Traceback)/.test(line))).toEqual([]);
    const result = JSON.parse(run.stdout) as {
      found: boolean;
      method: string;
      userdata: string;
      metadata: Record<string, unknown>;
      sets: Array<[string, string]>;
      guestinfo: Record<string, string>;
    };
    // cloudinit/sources/DataSourceVMware.py: _get_data reads guestinfo, then redact_keys() sets
    // each key named in metadata `redact` to "---" and its .encoding to " ".
    expect(result).toMatchObject({ found: true, method: "guestinfo", userdata: userData });
    expect(result.metadata).toMatchObject({ "local-hostname": "test-vpn", "instance-id": "test-vpn" });
    expect(result.sets).toEqual([
      ["guestinfo.userdata", "---"],
      ["guestinfo.userdata.encoding", " "],
    ]);
    expect(result.guestinfo["guestinfo.userdata"]).toBe("---");
  });
});
