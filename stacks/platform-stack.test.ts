import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { addressesFrom } from "../lib/ipv4";
import { resourcesOfType, siteInput, synthBranch } from "../test-support/synth";

function vmsOf(branch: string) {
  const result = synthBranch(branch);
  const platform = result.stacks.get(`platform-${result.environment.slug}`)!;
  const vms = resourcesOfType(platform, "vsphere_virtual_machine").map(([id, body]) => {
    const extra = body.extra_config as Record<string, string>;
    const metadata = parse(gunzipSync(Buffer.from(extra["guestinfo.metadata"], "base64")).toString("utf8")) as {
      "local-hostname": string;
      network: { ethernets: Record<string, { addresses: string[] }> };
    };
    return { id, body, extra, metadata, address: Object.values(metadata.network.ethernets)[0].addresses[0] };
  });
  return { result, platform, vms };
}

describe("production platform", () => {
  const { platform, vms, result } = vmsOf("main");
  const servers = vms.filter((vm) => String(vm.body.name).includes("-server-"));
  const agents = vms.filter((vm) => String(vm.body.name).includes("-agent-"));
  const tier = result.site.tiers.production;

  it("has 3 server VMs plus the configured workers, each with a distinct static IP from the plan", () => {
    expect(servers).toHaveLength(3);
    expect(agents).toHaveLength(tier.workers.count);
    const planned = addressesFrom(tier.network.nodes.first, 3 + tier.workers.count).map((address) => `${address}/24`);
    expect(vms.map((vm) => vm.address).sort()).toEqual(planned.sort());
    expect(new Set(vms.map((vm) => vm.address)).size).toBe(vms.length);
  });

  it("sizes VMs per tier and clones from the template with matching disks", () => {
    for (const vm of servers)
      expect(vm.body).toMatchObject({
        num_cpus: tier.controlPlane.vm.cpus,
        memory: tier.controlPlane.vm.memoryMiB,
        enable_disk_uuid: true,
      });
    for (const vm of agents) expect(vm.body).toMatchObject({ num_cpus: tier.workers.vm.cpus, memory: tier.workers.vm.memoryMiB });
    for (const vm of vms) {
      expect(vm.body.clone).toEqual({ template_uuid: "${data.vsphere_virtual_machine.vsphere_template_650F27DF.id}" });
      expect(vm.body.scsi_type).toBe("${data.vsphere_virtual_machine.vsphere_template_650F27DF.scsi_type}");
      expect(vm.body.folder).toMatch(/^\$\{vsphere_folder\./);
      expect((vm.body.tags as string[]).length).toBe(3);
    }
  });

  it("feeds cloud-init through guestinfo with gzip+base64, and replaces a VM only when its generation changes", () => {
    for (const vm of vms) {
      expect(vm.extra["guestinfo.userdata.encoding"]).toBe("gzip+base64");
      expect(vm.extra["guestinfo.metadata.encoding"]).toBe("gzip+base64");
      expect(vm.extra["guestinfo.userdata"]).toMatch(/^\$\{base64gzip\(local\.[^)]+\)\}$/);
      // vsphere 2.15 docs: replace_trigger forces a new VM when it changes; a literal never does by itself.
      expect(vm.body.replace_trigger).toBe(`${String(vm.body.name)}/generation-0`);
      expect((vm.body.lifecycle as { ignore_changes: string[] }).ignore_changes).toEqual(["extra_config"]);
      expect(vm.metadata["local-hostname"]).toBe(vm.body.name);
    }
  });

  it("looks up the shared parent folder at plan time before creating the environment's folder", () => {
    // vsphere 2.15 docs: vsphere_folder creates only the last path element (the parent must exist);
    // data vsphere_folder takes an absolute path that includes the datacenter and folder type.
    const lookups = Object.entries((platform.data as Record<string, Record<string, { path: string }>>).vsphere_folder);
    expect(lookups.map(([, body]) => body.path)).toEqual([`/${result.site.vsphere.datacenter}/vm/${result.site.vsphere.folder}`]);
    const [[, folder]] = resourcesOfType(platform, "vsphere_folder");
    expect(folder).toMatchObject({ path: `${result.site.vsphere.folder}/main`, type: "vm" });
    expect(folder.depends_on).toEqual([`data.vsphere_folder.${lookups[0][0]}`]);
  });

  it("refuses, at plan time, a template that is too small or an OVF vApp template", () => {
    for (const vm of vms) {
      const conditions = (vm.body.lifecycle as { precondition: Array<{ condition: string }> }).precondition.map((rule) => rule.condition);
      expect(conditions).toEqual([
        expect.stringMatching(/^\$\{\(data\.vsphere_virtual_machine\.vsphere_template_650F27DF\.disks\[0\]\.size <= \d+\)\}$/),
        "${length(data.vsphere_virtual_machine.vsphere_template_650F27DF.vapp_transport) == 0}",
      ]);
    }
  });

  it("places exactly the server VMs under the anti-affinity rule", () => {
    const rules = resourcesOfType(platform, "vsphere_compute_cluster_vm_anti_affinity_rule");
    expect(rules).toHaveLength(1);
    const members = (rules[0][1].virtual_machine_ids as string[]).sort();
    expect(members).toEqual(servers.map((vm) => `\${vsphere_virtual_machine.${vm.id}.id}`).sort());
  });
});

describe("staging platform", () => {
  it("has no anti-affinity rule and uses its own network", () => {
    const { platform, vms } = vmsOf("staging");
    expect(resourcesOfType(platform, "vsphere_compute_cluster_vm_anti_affinity_rule")).toEqual([]);
    for (const vm of vms) expect(vm.address).toMatch(/^10\.21\.0\./);
  });
});

describe("single-node development size", () => {
  it("builds one untainted server and no agents", () => {
    const input = siteInput();
    const staging = input.tiers.staging;
    const site = {
      ...input,
      tiers: {
        ...input.tiers,
        staging: { ...staging, controlPlane: { ...staging.controlPlane, count: 1 }, workers: { ...staging.workers, count: 0 } },
      },
    };
    const result = synthBranch("staging", site);
    const vms = resourcesOfType(result.stacks.get("platform-staging"), "vsphere_virtual_machine");
    expect(vms.map(([, body]) => body.name)).toEqual(["staging-server-1"]);
    const userData = Object.values((result.stacks.get("cluster-staging")!.locals ?? {}) as Record<string, string>);
    expect(userData).toHaveLength(1);
    expect(userData[0]).toContain("node-taint: []");
  });
});
