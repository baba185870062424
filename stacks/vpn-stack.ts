import { TlsProvider } from "@cdktf/provider-tls/lib/provider";
import { TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { planNodes } from "../config/node-plan";
import type { ClusterTierConfig, SiteConfig } from "../config/schema";
import { VpnGateway } from "../constructs/vpn-gateway";
import { VsphereSite } from "../constructs/vsphere-site";
import { useStateBackend } from "../lib/backend";
import { vsphereSiteProps } from "./vsphere-site-props";
import type { Environment } from "../lib/environment";

export interface VpnStackProps {
  readonly environment: Environment;
  readonly site: SiteConfig;
  readonly tier: ClusterTierConfig;
}

/** The environment's AnyConnect-compatible gateway (ocserv) and its users' certificates. */
export class VpnStack extends TerraformStack {
  readonly gateway: VpnGateway;

  constructor(scope: Construct, id: string, props: VpnStackProps) {
    super(scope, id);
    useStateBackend(this, props.site.backend);
    new TlsProvider(this, "tls");
    const { site, tier, environment } = props;
    const plan = planNodes(environment, tier, site.nodeGenerations);
    // The platform stack owns the environment's folder; the gateway gets one of its own.
    const vsphere = new VsphereSite(
      this,
      "vsphere",
      vsphereSiteProps(
        site,
        environment,
        "vpn",
        { platform: site.vsphere.networks.platform, external: site.vsphere.networks.external },
        environment.resourceName("vpn"),
      ),
    );
    this.gateway = new VpnGateway(this, "gateway", {
      site: vsphere,
      name: plan.vpnGateway.name,
      generation: plan.vpnGateway.generation,
      size: tier.vpnGateway.vm,
      templateDiskGiB: site.vsphere.template.diskGiB,
      externalAddress: tier.vpn.externalAddress,
      externalGateway: tier.vpn.externalGateway,
      platformAddress: `${plan.vpnGateway.address}/${plan.prefixLength}`,
      dnsServers: site.dns.servers,
      searchDomains: site.dns.searchDomains,
      ntpServers: site.ntp,
      sshAuthorizedKeys: site.sshPublicKeys,
      sshFrom: site.opsNetworks,
      pool: tier.vpn.pool,
      // Split tunnel: the platform network (nodes and MetalLB range) only.
      routes: [tier.network.cidr],
      users: site.vpn.users,
      ...(site.vpn.serverCertificate === "operator" ? { serverCertificate: this.operatorCertificate() } : {}),
    });

    const output = (name: string, value: string, description: string, sensitive = false) =>
      new TerraformOutput(this, name, { value, description, sensitive }).overrideLogicalId(name);
    output("vpn_endpoint", `https://${tier.vpn.externalAddress.split("/")[0]}/`, "AnyConnect server URL");
    output("server_cert_pem", this.gateway.serverCertPem, "Gateway certificate; clients pin its public key");
    output("client_ca_pem", this.gateway.clientCa.certPem, "CA that issues VPN user certificates");
    for (const [user, certificate] of this.gateway.userCertificates) {
      output(`user_${user.replace(/[^a-z0-9_]/g, "_")}_cert_pem`, certificate.certPem, `${user}'s VPN certificate`, true);
      output(`user_${user.replace(/[^a-z0-9_]/g, "_")}_key_pem`, certificate.keyPem, `${user}'s VPN private key`, true);
    }
  }

  /** A certificate from the operator's own CA: the PEMs come from variables, the key sensitive. */
  private operatorCertificate(): { certPem: string; keyPem: string } {
    const cert = new TerraformVariable(this, "vpn_server_cert_pem", {
      type: "string",
      description: "Gateway certificate chain (PEM), TF_VAR_vpn_server_cert_pem",
    });
    const key = new TerraformVariable(this, "vpn_server_key_pem", {
      type: "string",
      sensitive: true,
      description: "Gateway private key (PEM), TF_VAR_vpn_server_key_pem",
    });
    cert.overrideLogicalId("vpn_server_cert_pem");
    key.overrideLogicalId("vpn_server_key_pem");
    return { certPem: cert.stringValue, keyPem: key.stringValue };
  }
}
