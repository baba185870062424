import { DataVsphereComputeCluster } from "@cdktf/provider-vsphere/lib/data-vsphere-compute-cluster";
import { DataVsphereDatacenter } from "@cdktf/provider-vsphere/lib/data-vsphere-datacenter";
import { DataVsphereDatastore } from "@cdktf/provider-vsphere/lib/data-vsphere-datastore";
import { DataVsphereNetwork } from "@cdktf/provider-vsphere/lib/data-vsphere-network";
import { DataVsphereVirtualMachine } from "@cdktf/provider-vsphere/lib/data-vsphere-virtual-machine";
import { DataVsphereFolder } from "@cdktf/provider-vsphere/lib/data-vsphere-folder";
import { Folder } from "@cdktf/provider-vsphere/lib/folder";
import { VsphereProvider } from "@cdktf/provider-vsphere/lib/provider";
import { TagCategory } from "@cdktf/provider-vsphere/lib/tag-category";
import { Tag } from "@cdktf/provider-vsphere/lib/tag";
import { TerraformVariable } from "cdktf";
import { Construct } from "constructs";

export interface VsphereSiteProps {
  readonly server: string;
  readonly allowUnverifiedSsl: boolean;
  readonly datacenter: string;
  readonly computeCluster: string;
  readonly datastore: string;
  /** Parent folder; this construct creates `<parentFolder>/<environment>` below it. */
  readonly parentFolder: string;
  readonly environment: string;
  /**
   * Folder name under parentFolder. Default: the environment.
   * @default the environment
   */
  readonly folderName?: string;
  /**
   * Which stack's objects these are (e.g. "platform", "vpn"). vCenter tag categories are
   * global, so each stack's categories carry the environment and this scope in their names.
   */
  readonly scope: string;
  readonly owner: string;
  readonly templateName: string;
  /** Port groups by role, e.g. `{ platform: "pg-platform" }`. */
  readonly networks: Readonly<Record<string, string>>;
}

/**
 * The vSphere objects one environment builds on: the provider (credentials only from
 * sensitive variables), the looked-up datacenter, cluster, datastore, networks and template,
 * the environment's folder, and tags for environment, role and owner.
 */
export class VsphereSite extends Construct {
  readonly datacenter: DataVsphereDatacenter;
  readonly computeCluster: DataVsphereComputeCluster;
  readonly datastore: DataVsphereDatastore;
  readonly template: DataVsphereVirtualMachine;
  readonly folder: Folder;
  /** The site's parent folder, looked up: it is shared by every environment, so none owns it. */
  readonly parentFolder: DataVsphereFolder;
  private readonly networks = new Map<string, DataVsphereNetwork>();
  private readonly roleCategory: TagCategory;
  private readonly roleTags = new Map<string, Tag>();
  readonly environmentTag: Tag;
  readonly ownerTag: Tag;

  constructor(scope: Construct, id: string, props: VsphereSiteProps) {
    super(scope, id);
    for (const field of [
      "server",
      "datacenter",
      "computeCluster",
      "datastore",
      "parentFolder",
      "environment",
      "owner",
      "templateName",
    ] as const) {
      if (!props[field]) throw new Error(`VsphereSite ${id}: ${field} is empty`);
    }
    if (Object.keys(props.networks).length === 0) throw new Error(`VsphereSite ${id}: networks is empty`);

    const user = new TerraformVariable(this, "vsphere_user", {
      type: "string",
      sensitive: true,
      description: "vCenter user (TF_VAR_vsphere_user)",
    });
    const password = new TerraformVariable(this, "vsphere_password", {
      type: "string",
      sensitive: true,
      description: "vCenter password (TF_VAR_vsphere_password)",
    });
    // Stable variable names, so operators can export TF_VAR_vsphere_* once for every stack.
    user.overrideLogicalId("vsphere_user");
    password.overrideLogicalId("vsphere_password");
    new VsphereProvider(this, "provider", {
      vsphereServer: props.server,
      user: user.stringValue,
      password: password.stringValue,
      allowUnverifiedSsl: props.allowUnverifiedSsl,
    });

    this.datacenter = new DataVsphereDatacenter(this, "datacenter", { name: props.datacenter });
    const datacenterId = this.datacenter.id;
    this.computeCluster = new DataVsphereComputeCluster(this, "compute_cluster", { name: props.computeCluster, datacenterId });
    this.datastore = new DataVsphereDatastore(this, "datastore", { name: props.datastore, datacenterId });
    this.template = new DataVsphereVirtualMachine(this, "template", { name: props.templateName, datacenterId });
    for (const [role, name] of Object.entries(props.networks)) {
      this.networks.set(role, new DataVsphereNetwork(this, `network_${role}`, { name, datacenterId }));
    }
    // vsphere_folder creates only the last element of its path; a missing parent would fail
    // at apply, after other resources were created. The lookup fails at plan time instead.
    this.parentFolder = new DataVsphereFolder(this, "parent_folder", { path: `/${props.datacenter}/vm/${props.parentFolder}` });
    this.folder = new Folder(this, "folder", {
      path: `${props.parentFolder}/${props.folderName ?? props.environment}`,
      type: "vm",
      datacenterId,
      dependsOn: [this.parentFolder],
    });

    const category = (kind: string) =>
      new TagCategory(this, `category_${kind}`, {
        name: `${props.environment}-${props.scope}-${kind}`,
        cardinality: "SINGLE",
        associableTypes: ["VirtualMachine"],
      });
    const environmentCategory = category("environment");
    const ownerCategory = category("owner");
    this.roleCategory = category("role");
    this.environmentTag = new Tag(this, "tag_environment", { name: props.environment, categoryId: environmentCategory.id });
    this.ownerTag = new Tag(this, "tag_owner", { name: props.owner, categoryId: ownerCategory.id });
  }

  network(role: string): DataVsphereNetwork {
    const network = this.networks.get(role);
    if (!network) throw new Error(`VsphereSite: no network for role "${role}" (known: ${[...this.networks.keys()].join(", ")})`);
    return network;
  }

  /** Tag ids for a VM of the given role: environment, owner and role. */
  tagsFor(role: string): string[] {
    let roleTag = this.roleTags.get(role);
    if (!roleTag) {
      roleTag = new Tag(this, `tag_role_${role}`, { name: role, categoryId: this.roleCategory.id });
      this.roleTags.set(role, roleTag);
    }
    return [this.environmentTag.id, this.ownerTag.id, roleTag.id];
  }
}
