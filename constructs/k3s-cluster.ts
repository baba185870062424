import { Password } from "@cdktf/provider-random/lib/password";
import { Fn, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { isDnsLabel } from "../lib/names";
import { isIpv4 } from "../lib/ipv4";
import { K3S_CA_FILES, K3S_VERSION, renderK3sUserData, type K3sCaFile, type K3sEtcdSnapshots, type K3sSiteNetwork } from "./k3s-user-data";
import { privateKeyFor, TlsCertificateAuthority } from "./tls-certificate-authority";
import { TlsIssuedCertificate } from "./tls-issued-certificate";

export interface K3sNode {
  readonly name: string;
  readonly address: string;
  /** Deliberate replacements so far; a replaced first server joins instead of initialising. @default 0 */
  readonly generation?: number;
}

export interface K3sClusterProps {
  /** Prefix for CA common names, e.g. the environment slug. */
  readonly clusterName: string;
  /** Control-plane nodes with embedded etcd; an odd count. The first runs --cluster-init. */
  readonly servers: readonly K3sNode[];
  readonly agents: readonly K3sNode[];
  readonly ntpServers: readonly string[];
  readonly sshAuthorizedKeys: readonly string[];
  /** @default K3S_VERSION */
  readonly k3sVersion?: string;
  /** API address clients use. @default the first server's address */
  readonly apiAddress?: string;
  /**
   * Extra names or addresses for the API server certificate.
   * @default []
   */
  readonly extraTlsSans?: readonly string[];
  /** Keep workloads off servers. @default true when there are agents */
  readonly taintServers?: boolean;
  /** Proxy, artifact and registry mirrors for sites without direct internet. @default direct access */
  readonly siteNetwork?: K3sSiteNetwork;
  /** Scheduled etcd snapshots on every server. @default k3s's defaults */
  readonly etcdSnapshots?: K3sEtcdSnapshots;
  /** k3s's own metrics on the servers' supervisor port (for the etcd snapshot alerts). @default false */
  readonly supervisorMetrics?: boolean;
}

/** What a kubernetes or helm provider needs to reach the cluster. */
export interface ClusterAccess {
  readonly host: string;
  readonly clusterCaCertificate: string;
  readonly clientCertificate: string;
  readonly clientKey: string;
}

export const K3S_API_PORT = 6443;
/** k3s's default pod and service networks (`--cluster-cidr`, `--service-cidr`; k3s docs/cli/server.md). */
export const K3S_CLUSTER_CIDR = "10.42.0.0/16";
export const K3S_SERVICE_CIDR = "10.43.0.0/16";
const ADMIN_CERT_HOURS = 365 * 24;

/**
 * An HA k3s cluster's identity and first-boot configuration: the CAs and service-account key
 * generated here and written to every server before k3s first starts, join secrets from the
 * random provider, one cloud-config per node, and an admin kubeconfig that Terraform knows at
 * plan time. The VMs that boot these documents are created elsewhere (the platform stack).
 */
export class K3sCluster extends Construct {
  readonly serverUserData: readonly string[];
  readonly agentUserData: readonly string[];
  readonly access: ClusterAccess;
  readonly apiEndpoint: string;
  /** The whole admin kubeconfig as YAML (sensitive). */
  readonly kubeconfig: string;
  readonly serverCa: TlsCertificateAuthority;

  constructor(scope: Construct, id: string, props: K3sClusterProps) {
    super(scope, id);
    const where = `K3sCluster ${id}`;
    if (props.servers.length === 0 || props.servers.length % 2 === 0) {
      throw new Error(`${where}: servers has ${props.servers.length} nodes; embedded etcd needs an odd count (1, 3, 5)`);
    }
    const all = [...props.servers, ...props.agents];
    all.forEach((node) => {
      if (!isDnsLabel(node.name)) throw new Error(`${where}: node name "${node.name}" is not a DNS-1123 label`);
      if (!isIpv4(node.address)) throw new Error(`${where}: node ${node.name} address "${node.address}" is not an IPv4 address`);
    });
    if (new Set(all.map((node) => node.address)).size !== all.length) throw new Error(`${where}: node addresses are not distinct`);
    if (new Set(all.map((node) => node.name)).size !== all.length) throw new Error(`${where}: node names are not distinct`);
    const apiAddress = props.apiAddress ?? props.servers[0].address;
    if (!isIpv4(apiAddress)) throw new Error(`${where}: apiAddress "${apiAddress}" is not an IPv4 address`);
    this.apiEndpoint = `https://${apiAddress}:${K3S_API_PORT}`;
    const taintServers = props.taintServers ?? props.agents.length > 0;

    const ca = (name: string) => new TlsCertificateAuthority(this, name, { commonName: `k3s-${name}@${props.clusterName}` });
    this.serverCa = ca("server-ca");
    const clientCa = ca("client-ca");
    const requestHeaderCa = ca("request-header-ca");
    const etcdPeerCa = ca("etcd-peer-ca");
    const etcdServerCa = ca("etcd-server-ca");
    // kube-apiserver signs service-account tokens with this key; RSA is what k3s generates.
    const serviceKey = privateKeyFor(this, "service-key", "RSA");

    const pem = new Map<K3sCaFile, string>([
      ["server-ca.crt", this.serverCa.certPem],
      ["server-ca.key", this.serverCa.keyPem],
      ["client-ca.crt", clientCa.certPem],
      ["client-ca.key", clientCa.keyPem],
      ["request-header-ca.crt", requestHeaderCa.certPem],
      ["request-header-ca.key", requestHeaderCa.keyPem],
      ["etcd/peer-ca.crt", etcdPeerCa.certPem],
      ["etcd/peer-ca.key", etcdPeerCa.keyPem],
      ["etcd/server-ca.crt", etcdServerCa.certPem],
      ["etcd/server-ca.key", etcdServerCa.keyPem],
      ["service.key", serviceKey.privateKeyPem],
    ]);
    const caFilesBase64 = Object.fromEntries(K3S_CA_FILES.map((name) => [name, Fn.base64encode(pem.get(name)!)])) as Record<
      K3sCaFile,
      string
    >;

    const secret = (name: string) => new Password(this, name, { length: 48, special: false });
    const serverSecret = secret("server-secret");
    const agentSecret = secret("agent-secret");

    // The secure token's CA hash, the way k3s computes it (pkg/clientaccess/token.go, hashCA):
    // for a file holding a single certificate, SHA-256 over the literal bytes of the PEM that
    // the server serves at /cacerts, which is exactly the server-ca.crt written below.
    const caHash = Fn.sha256(this.serverCa.certPem);
    const token = (user: "server" | "node", password: Password) => Fn.base64encode(`K10${caHash}::${user}:${password.result}`);
    const common = {
      k3sVersion: props.k3sVersion ?? K3S_VERSION,
      ntpServers: props.ntpServers,
      sshAuthorizedKeys: props.sshAuthorizedKeys,
      clusterCaCertBase64: caFilesBase64["server-ca.crt"],
      network: props.siteNetwork,
    };
    // The first server initialises the cluster once; once replaced (generation > 0) it joins
    // the others like any server, and the CA then comes from the datastore.
    const initialises = (index: number) => index === 0 && (props.servers[0].generation ?? 0) === 0;
    if ((props.servers[0].generation ?? 0) > 0 && props.servers.length < 2) {
      throw new Error(
        `${where}: ${props.servers[0].name} is the only server; replacing it would start an empty cluster. Restore it from an etcd snapshot instead (README: restore etcd)`,
      );
    }
    const joinUrl = (self: number) => `https://${props.servers[self === 0 ? 1 : 0].address}:${K3S_API_PORT}`;
    const tlsSans = [...new Set([apiAddress, ...props.servers.map((server) => server.address), ...(props.extraTlsSans ?? [])])];
    // One local per node: another stack then references one value per node, not every PEM.
    const asLocal = (node: K3sNode, document: string) => new TerraformLocal(this, `user_data_${node.name}`, document).asString;
    this.serverUserData = props.servers.map((server, index) =>
      asLocal(
        server,
        renderK3sUserData({
          ...common,
          role: "server",
          bootstrap: initialises(index) ? "cluster-init" : "join",
          ...(initialises(index) ? {} : { serverUrl: joinUrl(index) }),
          nodeName: server.name,
          nodeIp: server.address,
          nodeLabels: ["streamstats.io/role=server"],
          nodeTaints: taintServers ? ["node-role.kubernetes.io/control-plane=true:NoSchedule"] : [],
          tlsSans,
          // Only the initialising server needs the CA keys; joining servers get them from the datastore.
          ...(initialises(index) ? { caFilesBase64 } : {}),
          joinTokenBase64: token("server", serverSecret),
          agentSecretBase64: Fn.base64encode(agentSecret.result),
          etcdSnapshots: props.etcdSnapshots,
          supervisorMetrics: props.supervisorMetrics,
        }),
      ),
    );
    this.agentUserData = props.agents.map((agent) =>
      asLocal(
        agent,
        renderK3sUserData({
          ...common,
          role: "agent",
          serverUrl: this.apiEndpoint,
          nodeName: agent.name,
          nodeIp: agent.address,
          nodeLabels: ["streamstats.io/role=agent"],
          nodeTaints: [],
          joinTokenBase64: token("node", agentSecret),
        }),
      ),
    );

    const admin = new TlsIssuedCertificate(this, "admin", {
      ca: clientCa,
      commonName: `${props.clusterName}-terraform-admin`,
      organization: "system:masters",
      use: "client_auth",
      validityHours: ADMIN_CERT_HOURS,
    });
    this.access = {
      host: this.apiEndpoint,
      clusterCaCertificate: this.serverCa.certPem,
      clientCertificate: admin.certPem,
      clientKey: admin.keyPem,
    };
    this.kubeconfig = kubeconfigYaml(props.clusterName, this.access);
  }
}

/** An admin kubeconfig; the PEMs are base64-encoded by Terraform, so they stay on one line. */
export function kubeconfigYaml(name: string, access: ClusterAccess): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${access.host}`,
    `    certificate-authority-data: ${Fn.base64encode(access.clusterCaCertificate)}`,
    "users:",
    `- name: ${name}-admin`,
    "  user:",
    `    client-certificate-data: ${Fn.base64encode(access.clientCertificate)}`,
    `    client-key-data: ${Fn.base64encode(access.clientKey)}`,
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    `current-context: ${name}`,
    "",
  ].join("\n");
}
