import { stringify } from "yaml";
import { encodedFile, plainFile, renderCloudConfig, type WriteFile } from "./cloud-config";

/** k3s release the cluster installs; bump deliberately, one minor at a time. */
export const K3S_VERSION = "v1.33.5+k3s1";

/** The custom-CA files k3s picks up from its tls directory before the first start. */
export const K3S_CA_FILES = [
  "server-ca.crt",
  "server-ca.key",
  "client-ca.crt",
  "client-ca.key",
  "request-header-ca.crt",
  "request-header-ca.key",
  "etcd/peer-ca.crt",
  "etcd/peer-ca.key",
  "etcd/server-ca.crt",
  "etcd/server-ca.key",
  "service.key",
] as const;
export type K3sCaFile = (typeof K3S_CA_FILES)[number];

export const K3S_TLS_DIR = "/var/lib/rancher/k3s/server/tls";
const CONFIG_DIR = "/etc/rancher/k3s";

interface CommonProps {
  readonly k3sVersion?: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly nodeLabels: readonly string[];
  readonly nodeTaints: readonly string[];
  readonly ntpServers: readonly string[];
  readonly sshAuthorizedKeys: readonly string[];
  /** base64 of the server CA certificate (public), exactly the bytes k3s serves at /cacerts. */
  readonly clusterCaCertBase64: string;
  /**
   * base64 of the secure join token `K10<sha256 of the CA PEM bytes>::<user>:<secret>`, built
   * in Terraform (see K3sCluster): servers `server:…`, agents `node:…`.
   */
  readonly joinTokenBase64: string;
  /** Site settings for sites without direct internet access. @default direct access */
  readonly network?: K3sSiteNetwork;
}

/** How nodes reach the internet and registries at a site without direct access. */
export interface K3sSiteNetwork {
  /** HTTP(S) proxy for apt, the k3s installer and containerd; noProxy must cover the cluster. */
  readonly proxy?: { readonly http: string; readonly https: string; readonly noProxy: readonly string[] };
  /**
   * A mirror of the k3s release artifacts: `installScriptUrl` is the install.sh for the pinned
   * version, `releasesUrl` replaces `https://github.com/k3s-io/k3s/releases` (install.sh's
   * GITHUB_URL: it downloads `<releasesUrl>/download/<version>/k3s` and its sha256sum file).
   */
  readonly artifacts?: { readonly installScriptUrl: string; readonly releasesUrl: string };
  /** k3s registries.yaml `mirrors`: registry host → endpoint URLs. */
  readonly registryMirrors?: Readonly<Record<string, readonly string[]>>;
}

export interface K3sServerUserDataProps extends CommonProps {
  readonly role: "server";
  /** `cluster-init` on the first server; the others join it at `serverUrl`. */
  readonly bootstrap: "cluster-init" | "join";
  readonly serverUrl?: string;
  readonly tlsSans: readonly string[];
  /**
   * base64 of every file in K3S_CA_FILES, keys included: the cluster-init server only. Joining
   * servers get the CAs from the datastore's bootstrap data (k3s docs/cli/certificate.md).
   */
  readonly caFilesBase64?: Readonly<Record<K3sCaFile, string>>;
  /** The agent secret (not a token): servers accept agents that present it. */
  readonly agentSecretBase64: string;
  /** Scheduled etcd snapshots. @default k3s's defaults (twice a day, 5 kept, on the node only) */
  readonly etcdSnapshots?: K3sEtcdSnapshots;
  /**
   * Serve k3s's own metrics (its etcd snapshot histograms among them) on the supervisor port's
   * /metrics: k3s `supervisor-metrics` (pkg/cli/cmds/server.go; the handler is pkg/metrics).
   * @default false
   */
  readonly supervisorMetrics?: boolean;
}

/** k3s's scheduled etcd snapshots (k3s docs/cli/etcd-snapshot.md). */
export interface K3sEtcdSnapshots {
  readonly scheduleCron: string;
  readonly retention: number;
  /**
   * Upload them to S3, configured by this Secret in kube-system (k3s's `etcd-s3-config-secret`:
   * credentials stay out of config files). @default local snapshots only
   */
  readonly s3ConfigSecret?: string;
}

export interface K3sAgentUserDataProps extends CommonProps {
  readonly role: "agent";
  readonly serverUrl: string;
}

export type K3sUserDataProps = K3sServerUserDataProps | K3sAgentUserDataProps;

/**
 * The largest socket receive buffer a process on the node may request (net.core.rmem_max; the
 * kernel's default is 212 992 bytes on x86-64). The collector asks for its chart's
 * `recvBufferBytes` and the kernel silently caps the request here. The setting is the host's:
 * a pod cannot raise it, and its sockets are capped by the host's value (seen on 6.18 from a
 * network namespace). On the bench's two cores the collector lost 1–3 % of datagrams at 140k
 * events/s with 4 MiB and none up to 180k with 32 MiB: its receiving thread keeps up on average,
 * and the buffer rides out the moments it is off the CPU (lab/bench/results/2026-12-02-socket-buffer).
 */
export const NODE_RECEIVE_BUFFER_MAX_BYTES = 32 * 1024 * 1024;
const NODE_SYSCTL = `# Written by cdktf: the collector's UDP socket buffer (its chart's recvBufferBytes) is capped here.\nnet.core.rmem_max = ${NODE_RECEIVE_BUFFER_MAX_BYTES}\n`;

/** Reserved resources so system daemons and k3s itself survive pod memory pressure. */
const KUBELET_CONFIG = stringify({
  apiVersion: "kubelet.config.k8s.io/v1beta1",
  kind: "KubeletConfiguration",
  systemReserved: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "1Gi" },
  kubeReserved: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "1Gi" },
  evictionHard: { "memory.available": "256Mi", "nodefs.available": "10%", "imagefs.available": "15%" },
});

/** install.sh's default download location for release artifacts (its GITHUB_URL). */
export const K3S_RELEASES_URL = "https://github.com/k3s-io/k3s/releases";

/** The release-tagged install script for a k3s version (`+` is `%2B` in the URL). */
export function k3sInstallScriptUrl(k3sVersion: string): string {
  return `https://raw.githubusercontent.com/k3s-io/k3s/${k3sVersion.replace("+", "%2B")}/install.sh`;
}

/**
 * Runs once on first boot: downloads the release-tagged install script and installs k3s. The
 * join token is already in place (built by Terraform), so nothing here handles the CA. With a
 * proxy, install.sh copies HTTP_PROXY/HTTPS_PROXY/NO_PROXY into the service's env file.
 */
export function k3sBootstrapScript(role: "server" | "agent", k3sVersion: string, network: K3sSiteNetwork = {}): string {
  const proxy = network.proxy;
  const proxyLines = proxy
    ? [
        "# The site's proxy, for curl here and for k3s and containerd (install.sh keeps *_PROXY).",
        `HTTP_PROXY='${proxy.http}'`,
        `HTTPS_PROXY='${proxy.https}'`,
        `NO_PROXY='${proxy.noProxy.join(",")}'`,
        'http_proxy="$HTTP_PROXY"',
        'https_proxy="$HTTPS_PROXY"',
        'no_proxy="$NO_PROXY"',
        "export HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy",
        "",
      ]
    : [];
  const installScriptUrl = network.artifacts?.installScriptUrl ?? k3sInstallScriptUrl(k3sVersion);
  const releasesUrl = network.artifacts?.releasesUrl ?? K3S_RELEASES_URL;
  return [
    "#!/bin/sh",
    `# Installs and starts k3s ${k3sVersion} (${role} role); written by cdktf, runs once from cloud-init.`,
    "set -eu",
    "",
    ...proxyLines,
    "# The install script is pinned to the release tag; it verifies the binary's sha256 itself.",
    "installer=$(mktemp)",
    "trap 'rm -f \"$installer\"' EXIT",
    `curl -sfL --retry 5 --retry-connrefused -o "$installer" '${installScriptUrl}'`,
    `GITHUB_URL='${releasesUrl}' INSTALL_K3S_VERSION='${k3sVersion}' INSTALL_K3S_EXEC='${role}' sh "$installer"`,
    "",
  ].join("\n");
}

/** k3s's registries.yaml: containerd pulls from the site's mirrors first. */
function registriesYaml(mirrors: Readonly<Record<string, readonly string[]>>): string {
  return stringify({
    mirrors: Object.fromEntries(Object.entries(mirrors).map(([registry, endpoints]) => [registry, { endpoint: [...endpoints] }])),
  });
}

function k3sConfig(props: K3sUserDataProps): string {
  const common = {
    "node-name": props.nodeName,
    "node-ip": props.nodeIp,
    "token-file": `${CONFIG_DIR}/join-token`,
    "node-label": [...props.nodeLabels],
    "node-taint": [...props.nodeTaints],
    "kubelet-arg": [`config=${CONFIG_DIR}/kubelet.config`],
  };
  if (props.role === "agent") return stringify({ server: props.serverUrl, ...common });
  return stringify({
    ...(props.bootstrap === "cluster-init" ? { "cluster-init": true } : { server: props.serverUrl }),
    ...common,
    "agent-token-file": `${CONFIG_DIR}/agent-secret`,
    "tls-san": [...props.tlsSans],
    // MetalLB provides LoadBalancer Services.
    disable: ["servicelb"],
    "secrets-encryption": true,
    "write-kubeconfig-mode": "0600",
    ...(props.supervisorMetrics ? { "supervisor-metrics": true } : {}),
    ...(props.etcdSnapshots
      ? {
          "etcd-snapshot-schedule-cron": props.etcdSnapshots.scheduleCron,
          "etcd-snapshot-retention": props.etcdSnapshots.retention,
          "etcd-snapshot-compress": true,
          // Only these two S3 flags: with any other etcd-s3 flag set, k3s ignores the Secret.
          ...(props.etcdSnapshots.s3ConfigSecret ? { "etcd-s3": true, "etcd-s3-config-secret": props.etcdSnapshots.s3ConfigSecret } : {}),
        }
      : {}),
  });
}

/** cloud-config for one k3s node; only the cluster-init server receives the CA keys. */
export function renderK3sUserData(props: K3sUserDataProps): string {
  if (props.role === "server" && props.bootstrap === "join" && !props.serverUrl) {
    throw new Error(`renderK3sUserData ${props.nodeName}: a joining server needs serverUrl`);
  }
  if (props.role === "server" && props.bootstrap === "cluster-init" && props.serverUrl) {
    throw new Error(`renderK3sUserData ${props.nodeName}: the cluster-init server must not have serverUrl`);
  }
  if (props.role === "server" && props.bootstrap === "cluster-init" && !props.caFilesBase64) {
    throw new Error(`renderK3sUserData ${props.nodeName}: the cluster-init server needs caFilesBase64`);
  }
  if (props.role === "server" && props.bootstrap === "join" && props.caFilesBase64) {
    throw new Error(`renderK3sUserData ${props.nodeName}: a joining server must not receive the CA keys`);
  }
  const version = props.k3sVersion ?? K3S_VERSION;
  const network = props.network ?? {};
  const files: WriteFile[] = [
    plainFile(`${CONFIG_DIR}/config.yaml`, k3sConfig(props), "0600"),
    plainFile(`${CONFIG_DIR}/kubelet.config`, KUBELET_CONFIG),
    plainFile("/etc/sysctl.d/90-collector-udp.conf", NODE_SYSCTL),
    encodedFile(`${CONFIG_DIR}/cluster-ca.crt`, props.clusterCaCertBase64, "0644"),
    encodedFile(`${CONFIG_DIR}/join-token`, props.joinTokenBase64),
    plainFile("/usr/local/sbin/k3s-bootstrap", k3sBootstrapScript(props.role, version, network), "0755"),
  ];
  if (network.registryMirrors && Object.keys(network.registryMirrors).length > 0) {
    files.push(plainFile(`${CONFIG_DIR}/registries.yaml`, registriesYaml(network.registryMirrors)));
  }
  if (props.role === "server") {
    files.push(encodedFile(`${CONFIG_DIR}/agent-secret`, props.agentSecretBase64));
    for (const name of props.caFilesBase64 ? K3S_CA_FILES : []) {
      files.push(encodedFile(`${K3S_TLS_DIR}/${name}`, props.caFilesBase64![name], name.endsWith(".crt") ? "0644" : "0600"));
    }
  }
  return renderCloudConfig(props.nodeName, {
    ntpServers: props.ntpServers,
    sshAuthorizedKeys: props.sshAuthorizedKeys,
    packages: ["curl", "ca-certificates", "openssl", "open-iscsi", "nfs-common"],
    files,
    // systemd-sysctl applies /etc/sysctl.d at every later boot; on the first, before k3s starts.
    runcmd: [["sysctl", "--system"], ["/usr/local/sbin/k3s-bootstrap"]],
    ...(network.proxy ? { aptProxy: { http: network.proxy.http, https: network.proxy.https } } : {}),
  });
}
