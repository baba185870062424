import { VirtualMachine } from "@cdktf/provider-vsphere/lib/virtual-machine";
import { Fn, Op, TerraformLocal, Token, type LocalExecProvisioner } from "cdktf";
import { Construct } from "constructs";
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import { isDnsLabel } from "../lib/names";
import { isIpv4 } from "../lib/ipv4";
import type { ExposedPort } from "../lib/exposed-port";
import type { VsphereSite } from "./vsphere-site";

export interface VmSize {
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
}

export interface VmNic {
  /** A network role known to the VsphereSite, e.g. "platform". */
  readonly network: string;
  /** Static address with prefix, e.g. `10.20.0.10/24`. */
  readonly address: string;
  /** The default gateway; exactly one NIC carries it. */
  readonly gateway?: string;
  /** Guest interface name; vmxnet3 NICs come up as ens192, ens224, … in PCI order. */
  readonly interfaceName?: string;
}

export interface VsphereVmProps {
  readonly site: VsphereSite;
  /** VM and host name; a DNS label. */
  readonly name: string;
  /** Role tag, e.g. `server`, `agent`, `vpn-gateway`. */
  readonly role: string;
  readonly size: VmSize;
  /** The template's first-disk size as declared in site config; clones may not be smaller. */
  readonly templateDiskGiB: number;
  readonly nics: readonly VmNic[];
  readonly dnsServers: readonly string[];
  /**
   * DNS search domains.
   * @default []
   */
  readonly searchDomains?: readonly string[];
  /** cloud-config user-data; may contain Terraform tokens (keys, tokens from other resources). */
  readonly userData: string;
  /**
   * Ports the VM serves to clients; listed for reviewers by `npm run plan:summary`.
   * @default []
   */
  readonly exposes?: readonly ExposedPort[];
  /**
   * Deliberate replacements so far (`npm run node:replace`): the VM is replaced when this
   * changes. @default 0
   */
  readonly generation?: number;
  /**
   * Configuration whose change rebuilds the VM, for stateless VMs that have no other way to
   * receive it (the VPN gateway's ocserv files); cluster nodes have none and are reconfigured
   * in place through the cluster. May contain Terraform tokens. @default none
   */
  readonly replaceWhenChanged?: string;
  /** Commands Terraform runs on this VM's creation or destruction (e.g. a destroy-time drain). @default none */
  readonly provisioners?: readonly LocalExecProvisioner[];
}

const DEFAULT_INTERFACE_NAMES = ["ens192", "ens224", "ens256", "ens161"];

/**
 * The cloud-init VMware datasource's metadata: hostname, a netplan v2 network config, and
 * `redact`, which makes the datasource overwrite guestinfo.userdata (and its encoding) once it
 * has read it, so the secrets in user-data do not stay readable through the VM's guestinfo.
 */
export function renderVmMetadata(props: Pick<VsphereVmProps, "name" | "nics" | "dnsServers" | "searchDomains">): string {
  const ethernets: Record<string, unknown> = {};
  props.nics.forEach((nic, index) => {
    const name = nic.interfaceName ?? DEFAULT_INTERFACE_NAMES[index];
    ethernets[name] = {
      match: { name },
      addresses: [nic.address],
      ...(nic.gateway ? { routes: [{ to: "default", via: nic.gateway }] } : {}),
      nameservers: { addresses: [...props.dnsServers], search: [...(props.searchDomains ?? [])] },
    };
  });
  return stringify({
    "instance-id": props.name,
    "local-hostname": props.name,
    network: { version: 2, ethernets },
    redact: ["userdata"],
  });
}

/** gzip+base64 as the VMware datasource decodes it; mtime is zero, so output is reproducible. */
export function gzipBase64(text: string): string {
  return gzipSync(Buffer.from(text, "utf8"), { level: 9 }).toString("base64");
}

/**
 * One VM cloned from the site's template, configured on first boot by cloud-init through
 * guestinfo. User-data applies at creation only (extra_config changes are ignored, since
 * cloud-init would not re-run them); the VM is replaced when its generation changes, or, where
 * asked, when its user-data does.
 */
export class VsphereVm extends Construct {
  readonly vm: VirtualMachine;
  readonly addresses: readonly string[];

  constructor(scope: Construct, id: string, props: VsphereVmProps) {
    super(scope, id);
    const where = `VsphereVm ${id}`;
    if (!isDnsLabel(props.name)) throw new Error(`${where}: name "${props.name}" is not a DNS-1123 label`);
    if (props.size.diskGiB < props.templateDiskGiB) {
      throw new Error(`${where}: size.diskGiB ${props.size.diskGiB} is smaller than the template's disk (${props.templateDiskGiB} GiB)`);
    }
    if (props.nics.length === 0) throw new Error(`${where}: nics is empty`);
    if (props.nics.length > DEFAULT_INTERFACE_NAMES.length)
      throw new Error(`${where}: nics has ${props.nics.length} entries; at most ${DEFAULT_INTERFACE_NAMES.length}`);
    props.nics.forEach((nic, index) => {
      const [address, prefix] = nic.address.split("/");
      if (!isIpv4(address) || !/^\d+$/.test(prefix ?? "") || Number(prefix) > 32) {
        throw new Error(`${where}: nics[${index}].address "${nic.address}" is not an IPv4 address with prefix`);
      }
      if (nic.gateway !== undefined && !isIpv4(nic.gateway))
        throw new Error(`${where}: nics[${index}].gateway "${nic.gateway}" is not an IPv4 address`);
    });
    const gateways = props.nics.filter((nic) => nic.gateway !== undefined).length;
    if (gateways !== 1) throw new Error(`${where}: exactly one of nics must carry the default gateway (found ${gateways})`);
    if (Token.isUnresolved(props.name)) throw new Error(`${where}: name must be known at synth time`);
    const generation = props.generation ?? 0;
    if (!Number.isInteger(generation) || generation < 0) throw new Error(`${where}: generation ${generation} must be a whole number ≥ 0`);

    const { site } = props;
    this.addresses = props.nics.map((nic) => nic.address.split("/")[0]);
    const template = site.template;
    const metadata = renderVmMetadata(props);
    // Terraform functions cannot take a literal containing quotes, so the document goes
    // through a local and the functions receive a reference to it.
    const userData = new TerraformLocal(this, "user_data", props.userData).asString;

    this.vm = new VirtualMachine(this, "vm", {
      name: props.name,
      resourcePoolId: site.computeCluster.resourcePoolId,
      datastoreId: site.datastore.id,
      folder: site.folder.path,
      numCpus: props.size.cpus,
      memory: props.size.memoryMiB,
      guestId: template.guestId,
      firmware: template.firmware,
      scsiType: template.scsiType,
      enableDiskUuid: true,
      annotation: `${props.role} ${this.addresses.join(",")} (managed by cdktf; do not edit by hand)`,
      tags: site.tagsFor(props.role),
      networkInterface: props.nics.map((nic) => ({
        networkId: site.network(nic.network).id,
        adapterType: "vmxnet3",
      })),
      disk: [
        {
          label: "disk0",
          size: props.size.diskGiB,
          thinProvisioned: template.disks.get(0).thinProvisioned,
          eagerlyScrub: template.disks.get(0).eagerlyScrub,
        },
      ],
      clone: { templateUuid: template.id },
      ...(props.provisioners?.length ? { provisioners: [...props.provisioners] } : {}),
      extraConfig: {
        "guestinfo.metadata": gzipBase64(metadata),
        "guestinfo.metadata.encoding": "gzip+base64",
        "guestinfo.userdata": Fn.base64gzip(userData),
        "guestinfo.userdata.encoding": "gzip+base64",
      },
      // A literal: routine configuration changes never replace a cluster node by themselves.
      replaceTrigger:
        props.replaceWhenChanged === undefined
          ? `${props.name}/generation-${generation}`
          : `${props.name}/generation-${generation}/${Fn.sha256(new TerraformLocal(this, "rebuild_on", props.replaceWhenChanged).asString)}`,
      lifecycle: {
        // The guest redacts guestinfo.userdata after first boot; the provider must not then
        // "restore" it (and reboot the VM) on every apply. User-data applies at creation.
        ignoreChanges: ["extra_config"],
        precondition: [
          {
            condition: Op.lte(template.disks.get(0).size, props.size.diskGiB),
            errorMessage: `${props.name}: disk0 (${props.size.diskGiB} GiB) is smaller than the template's first disk`,
          },
          {
            // An OVF (vApp) template hands cloud-init vApp properties, not the guestinfo we set.
            // (cdktf's Op.eq renders a literal 0 as "undefined", so the expression is written out.)
            condition: `\${length(${template.fqn}.vapp_transport) == 0}`,
            errorMessage: `${props.name}: the template is an OVF vApp template (vapp_transport is set); use a template whose cloud-init reads guestinfo (README: template requirements)`,
          },
        ],
      },
    });
    // Terraform ignores `//` keys; the plan summary reads them.
    if (props.exposes?.length)
      this.vm.addOverride(
        "//.exposes",
        props.exposes.map((port) => ({ ...port })),
      );
  }
}
