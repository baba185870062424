import { Testing, TerraformStack } from "cdktf";
import { VsphereSite } from "../constructs/vsphere-site";

/** An empty stack on a testing app, for constructing one construct under test. */
export function testStack(): TerraformStack {
  return new TerraformStack(Testing.app(), "test");
}

export function testVsphereSite(stack: TerraformStack): VsphereSite {
  return new VsphereSite(stack, "vsphere", {
    server: "vcenter.test.internal",
    allowUnverifiedSsl: false,
    datacenter: "dc",
    computeCluster: "cluster",
    datastore: "ds",
    parentFolder: "streamstats",
    environment: "test",
    scope: "test",
    owner: "platform-team",
    templateName: "debian-12",
    networks: { platform: "pg-platform", external: "pg-dmz" },
  });
}
