import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { isIpv4Cidr } from "../lib/ipv4";
import { encodedFile, plainFile, renderCloudConfig, type WriteFile } from "./cloud-config";
import { OCSERV_PATHS, renderAllowedUsers, renderConnectScript, renderOcservConfig, type OcservConfigProps } from "./ocserv-config";
import { TlsCertificateAuthority } from "./tls-certificate-authority";
import { TlsIssuedCertificate } from "./tls-issued-certificate";
import { VPN_CLIENT_CERT_PROFILE, vpnClientSubject, type VpnUser } from "./vpn-client-profile";
import { VPN_SERVER_CERT_PROFILE } from "./vpn-server-profile";
import type { VsphereSite } from "./vsphere-site";
import { VsphereVm, type VmSize } from "./vsphere-vm";

export interface VpnGatewayProps {
  readonly site: VsphereSite;
  readonly name: string;
  readonly size: VmSize;
  readonly templateDiskGiB: number;
  /** External NIC: address with prefix and the default gateway. */
  readonly externalAddress: string;
  readonly externalGateway: string;
  /** Platform NIC address with prefix. */
  readonly platformAddress: string;
  readonly dnsServers: readonly string[];
  readonly searchDomains: readonly string[];
  readonly ntpServers: readonly string[];
  readonly sshAuthorizedKeys: readonly string[];
  /** Networks allowed to reach SSH on the gateway. */
  readonly sshFrom: readonly string[];
  readonly pool: string;
  /** Platform networks routed to VPN clients (split tunnel). */
  readonly routes: readonly string[];
  readonly users: readonly VpnUser[];
  /**
   * Operator-supplied server certificate; by default one is generated (clients pin its key).
   * @default a generated one
   */
  readonly serverCertificate?: { readonly certPem: string; readonly keyPem: string };
  /**
   * ocserv settings beyond the gateway's own.
   * @default OcservConfig's defaults
   */
  readonly ocserv?: Partial<Pick<OcservConfigProps, "secondFactor" | "maxClients" | "maxSameClients" | "ocservVersion">>;
  /** Deliberate replacements so far (`npm run node:replace`). @default 0 */
  readonly generation?: number;
  /**
   * Guest interface names of the external and platform NICs (vmxnet3 PCI order).
   * @default VPN_GATEWAY_DEFAULT_INTERFACES
   */
  readonly interfaces?: { readonly external: string; readonly platform: string };
}

export const VPN_GATEWAY_DEFAULT_INTERFACES = { external: "ens192", platform: "ens224" } as const;

/**
 * nftables: the gateway forwards only from the VPN pool to the routed networks (masqueraded on
 * the platform NIC, so platform hosts need no return route), and accepts VPN on 443 and SSH
 * only from the ops networks.
 */
export function renderVpnFirewall(props: {
  pool: string;
  routes: readonly string[];
  sshFrom: readonly string[];
  external: string;
  platform: string;
}): string {
  const set = (items: readonly string[]) => `{ ${items.join(", ")} }`;
  return `#!/usr/sbin/nft -f
flush ruleset

table inet vpn_gateway {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iif "lo" accept
    meta l4proto { icmp, ipv6-icmp } accept
    iifname "${props.external}" tcp dport 443 accept
    iifname "${props.external}" udp dport 443 accept
${props.sshFrom.length ? `    ip saddr ${set(props.sshFrom)} tcp dport 22 accept\n` : ""}  }

  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "vpns*" oifname "${props.platform}" ip saddr ${props.pool} ip daddr ${set(props.routes)} accept
  }

  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "${props.platform}" ip saddr ${props.pool} masquerade
  }
}
`;
}

/**
 * The AnyConnect-compatible gateway: an ocserv VM with one NIC outside and one on the platform
 * network, a client CA that issues one certificate per user, and first-boot configuration.
 */
export class VpnGateway extends Construct {
  readonly vm: VsphereVm;
  readonly clientCa: TlsCertificateAuthority;
  readonly userCertificates: ReadonlyMap<string, TlsIssuedCertificate>;
  readonly serverCertPem: string;
  readonly userData: string;
  /** The VPN's own files (ocserv, certificates, allowlist, firewall): a change rebuilds the VM. */
  readonly vpnFiles: readonly WriteFile[];

  constructor(scope: Construct, id: string, props: VpnGatewayProps) {
    super(scope, id);
    const where = `VpnGateway ${id}`;
    props.sshFrom.forEach((cidr, index) => {
      if (!isIpv4Cidr(cidr)) throw new Error(`${where}: sshFrom[${index}] "${cidr}" is not an IPv4 CIDR`);
    });
    const names = props.users.map((user) => user.name);
    if (new Set(names).size !== names.length) throw new Error(`${where}: users has duplicate names: ${names.join(", ")}`);
    const interfaces = props.interfaces ?? VPN_GATEWAY_DEFAULT_INTERFACES;
    const externalIp = props.externalAddress.split("/")[0];

    // Validates pool, routes, users and options before any resource exists.
    const ocservConf = renderOcservConfig({
      pool: props.pool,
      routes: props.routes,
      dnsServers: props.dnsServers,
      splitDnsDomains: props.searchDomains,
      users: props.users,
      defaultDomain: props.searchDomains[0],
      ...props.ocserv,
    });

    let serverKeyPem: string;
    if (props.serverCertificate) {
      this.serverCertPem = props.serverCertificate.certPem;
      serverKeyPem = props.serverCertificate.keyPem;
    } else {
      const key = new PrivateKey(this, "server-key", {
        algorithm: VPN_SERVER_CERT_PROFILE.keyAlgorithm,
        ecdsaCurve: VPN_SERVER_CERT_PROFILE.ecdsaCurve,
      });
      const cert = new SelfSignedCert(this, "server-cert", {
        privateKeyPem: key.privateKeyPem,
        subject: [{ commonName: externalIp }],
        ipAddresses: [externalIp],
        validityPeriodHours: VPN_SERVER_CERT_PROFILE.validityHours,
        earlyRenewalHours: VPN_SERVER_CERT_PROFILE.earlyRenewalHours,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      });
      this.serverCertPem = cert.certPem;
      serverKeyPem = key.privateKeyPem;
    }

    this.clientCa = new TlsCertificateAuthority(this, "client-ca", {
      commonName: `${props.name}-client-ca`,
      organization: VPN_CLIENT_CERT_PROFILE.organization,
    });
    const profile = VPN_CLIENT_CERT_PROFILE;
    this.userCertificates = new Map(
      props.users.map((user) => {
        const subject = vpnClientSubject(user);
        const certificate = new TlsIssuedCertificate(this, `user-${user.name}`, {
          ca: this.clientCa,
          commonName: subject.commonName,
          organization: subject.organization,
          organizationalUnit: subject.organizationalUnit,
          use: profile.extendedKeyUsage,
          keyUsage: profile.keyUsage,
          validityHours: profile.validityHours,
          earlyRenewalHours: profile.earlyRenewalHours,
          algorithm: profile.keyAlgorithm,
        });
        return [user.name, certificate];
      }),
    );

    const encoded = (path: string, pem: string, permissions = "0644") => encodedFile(path, Fn.base64encode(pem), permissions);
    this.vpnFiles = [
      plainFile(OCSERV_PATHS.config, ocservConf),
      encoded(OCSERV_PATHS.serverCert, this.serverCertPem),
      encoded(OCSERV_PATHS.serverKey, serverKeyPem, "0600"),
      encoded(OCSERV_PATHS.clientCa, this.clientCa.certPem),
      plainFile(OCSERV_PATHS.allowedUsers, renderAllowedUsers(props.users)),
      plainFile(OCSERV_PATHS.connectScript, renderConnectScript(), "0755"),
      plainFile("/etc/sysctl.d/90-vpn-forwarding.conf", "net.ipv4.ip_forward = 1\n"),
      plainFile(
        "/etc/nftables.conf",
        renderVpnFirewall({ pool: props.pool, routes: props.routes, sshFrom: props.sshFrom, ...interfaces }),
        "0755",
      ),
    ];
    this.userData = renderCloudConfig(props.name, {
      ntpServers: props.ntpServers,
      sshAuthorizedKeys: props.sshAuthorizedKeys,
      packages: ["ocserv", "nftables"],
      files: this.vpnFiles,
      runcmd: [
        ["sysctl", "--system"],
        ["systemctl", "enable", "--now", "nftables"],
        ["systemctl", "restart", "nftables"],
        ["systemctl", "enable", "ocserv"],
        ["systemctl", "restart", "ocserv"],
      ],
    });

    this.vm = new VsphereVm(this, "vm", {
      site: props.site,
      name: props.name,
      role: "vpn-gateway",
      size: props.size,
      templateDiskGiB: props.templateDiskGiB,
      nics: [
        { network: "external", address: props.externalAddress, gateway: props.externalGateway, interfaceName: interfaces.external },
        { network: "platform", address: props.platformAddress, interfaceName: interfaces.platform },
      ],
      dnsServers: props.dnsServers,
      searchDomains: props.searchDomains,
      userData: this.userData,
      // Stateless, and ocserv's files reach it only at creation: a change to them (users, CA,
      // certificate, firewall) rebuilds it. SSH keys, NTP and DNS do not.
      replaceWhenChanged: this.vpnFiles.map((file) => `${file.path}\n${file.content}`).join("\n"),
      generation: props.generation ?? 0,
      exposes: [
        { port: 443, protocol: "tcp", description: "AnyConnect (TLS)" },
        { port: 443, protocol: "udp", description: "AnyConnect (DTLS)" },
      ],
    });
  }
}
