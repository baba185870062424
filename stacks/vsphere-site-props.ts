import type { SiteConfig } from "../config/schema";
import type { VsphereSiteProps } from "../constructs/vsphere-site";
import type { Environment } from "../lib/environment";

/** The site config's vSphere settings as VsphereSite props for one stack of an environment. */
export function vsphereSiteProps(
  site: SiteConfig,
  environment: Environment,
  scope: string,
  networks: Record<string, string>,
  folderName?: string,
): VsphereSiteProps {
  return {
    server: site.vsphere.server,
    allowUnverifiedSsl: site.vsphere.allowUnverifiedSsl,
    datacenter: site.vsphere.datacenter,
    computeCluster: site.vsphere.computeCluster,
    datastore: site.vsphere.datastore,
    parentFolder: site.vsphere.folder,
    folderName,
    environment: environment.slug,
    scope,
    owner: site.owner,
    templateName: site.vsphere.template.name,
    networks,
  };
}
