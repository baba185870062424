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
  /** base64 of the server CA certificate (public); nodes pin the cluster with its fingerprint. */
  readonly clusterCaCertBase64: string;
}

export interface K3sServerUserDataProps extends CommonProps {
  readonly role: "server";
  /** `cluster-init` on the first server; the others join it at `serverUrl`. */
  readonly bootstrap: "cluster-init" | "join";
  readonly serverUrl?: string;
  readonly tlsSans: readonly string[];
  /** base64 of every file in K3S_CA_FILES (keys included: servers only). */
  readonly caFilesBase64: Readonly<Record<K3sCaFile, string>>;
  readonly serverSecretBase64: string;
  readonly agentSecretBase64: string;
}

export interface K3sAgentUserDataProps extends CommonProps {
  readonly role: "agent";
  readonly serverUrl: string;
  readonly agentSecretBase64: string;
}

export type K3sUserDataProps = K3sServerUserDataProps | K3sAgentUserDataProps;

/** Reserved resources so system daemons and k3s itself survive pod memory pressure. */
const KUBELET_CONFIG = stringify({
  apiVersion: "kubelet.config.k8s.io/v1beta1",
  kind: "KubeletConfiguration",
  systemReserved: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "1Gi" },
  kubeReserved: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "1Gi" },
  evictionHard: { "memory.available": "256Mi", "nodefs.available": "10%", "imagefs.available": "15%" },
});

/**
 * Runs once on first boot. It builds the secure join token (K10<CA fingerprint>::…) so that a
 * joining node verifies the cluster's CA before it sends credentials; Terraform cannot hash
 * DER bytes, so the fingerprint is computed here from the CA certificate in user-data.
 */
export function k3sBootstrapScript(role: "server" | "agent", k3sVersion: string): string {
  const tokenKind = role === "server" ? "server" : "node";
  const secretFile = role === "server" ? "server-secret" : "agent-secret";
  return `#!/bin/sh
# Installs and starts k3s ${k3sVersion} (${role} role); written by cdktf, runs once from cloud-init.
set -eu

K3S_VERSION='${k3sVersion}'
CONFIG_DIR='${CONFIG_DIR}'

umask 077
ca_fingerprint=$(openssl x509 -in "$CONFIG_DIR/cluster-ca.crt" -outform der | sha256sum | cut -d ' ' -f 1)
secret=$(cat "$CONFIG_DIR/${secretFile}")
printf 'K10%s::${tokenKind}:%s\\n' "$ca_fingerprint" "$secret" > "$CONFIG_DIR/join-token"

# The install script is pinned to the release tag; it verifies the binary's sha256 itself.
installer=$(mktemp)
trap 'rm -f "$installer"' EXIT
version_path=$(printf '%s' "$K3S_VERSION" | sed 's/+/%2B/')
curl -sfL --retry 5 --retry-connrefused -o "$installer" "https://raw.githubusercontent.com/k3s-io/k3s/$version_path/install.sh"
INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC='${role}' sh "$installer"
`;
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
  });
}

/** cloud-config for one k3s node; only servers receive CA keys and the server secret. */
export function renderK3sUserData(props: K3sUserDataProps): string {
  if (props.role === "server" && props.bootstrap === "join" && !props.serverUrl) {
    throw new Error(`renderK3sUserData ${props.nodeName}: a joining server needs serverUrl`);
  }
  if (props.role === "server" && props.bootstrap === "cluster-init" && props.serverUrl) {
    throw new Error(`renderK3sUserData ${props.nodeName}: the cluster-init server must not have serverUrl`);
  }
  const version = props.k3sVersion ?? K3S_VERSION;
  const files: WriteFile[] = [
    plainFile(`${CONFIG_DIR}/config.yaml`, k3sConfig(props), "0600"),
    plainFile(`${CONFIG_DIR}/kubelet.config`, KUBELET_CONFIG),
    encodedFile(`${CONFIG_DIR}/cluster-ca.crt`, props.clusterCaCertBase64, "0644"),
    plainFile("/usr/local/sbin/k3s-bootstrap", k3sBootstrapScript(props.role, version), "0755"),
  ];
  if (props.role === "server") {
    files.push(encodedFile(`${CONFIG_DIR}/server-secret`, props.serverSecretBase64));
    files.push(encodedFile(`${CONFIG_DIR}/agent-secret`, props.agentSecretBase64));
    for (const name of K3S_CA_FILES) {
      files.push(encodedFile(`${K3S_TLS_DIR}/${name}`, props.caFilesBase64[name], name.endsWith(".crt") ? "0644" : "0600"));
    }
  } else {
    files.push(encodedFile(`${CONFIG_DIR}/agent-secret`, props.agentSecretBase64));
  }
  return renderCloudConfig(props.nodeName, {
    ntpServers: props.ntpServers,
    sshAuthorizedKeys: props.sshAuthorizedKeys,
    packages: ["curl", "ca-certificates", "openssl", "open-iscsi", "nfs-common"],
    files,
    runcmd: [["/usr/local/sbin/k3s-bootstrap"]],
  });
}
