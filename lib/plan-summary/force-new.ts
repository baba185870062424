/**
 * Arguments whose change makes the provider replace the resource instead of updating it, for
 * the resource types this project uses. Each entry names where it was read. `*` means every
 * argument. A type that is not listed is assumed to update in place (except through
 * `replace_trigger`-style arguments listed here and `lifecycle.replace_triggered_by`).
 */
export interface ForceNewEntry {
  readonly arguments: readonly string[];
  readonly source: string;
}

export const FORCE_NEW: Readonly<Record<string, ForceNewEntry>> = {
  vsphere_virtual_machine: {
    arguments: ["replace_trigger"],
    source: "vmware/vsphere 2.15 docs, r/virtual_machine: replace_trigger (ForceNew)",
  },
  helm_release: {
    arguments: ["name", "namespace"],
    source: "hashicorp/helm 3.1 helm/resource_helm_release.go: name, namespace RequiresReplace",
  },
  tls_private_key: {
    arguments: ["algorithm", "rsa_bits", "ecdsa_curve"],
    source: "hashicorp/tls internal/provider/resource_private_key.go: RequiresReplace",
  },
  tls_self_signed_cert: { arguments: ["*"], source: "hashicorp/tls docs, r/self_signed_cert: every argument forces a new certificate" },
  tls_cert_request: { arguments: ["*"], source: "hashicorp/tls docs, r/cert_request: every argument forces a new request" },
  tls_locally_signed_cert: {
    arguments: ["*"],
    source: "hashicorp/tls docs, r/locally_signed_cert: every argument forces a new certificate",
  },
  random_password: {
    arguments: ["*"],
    source: "hashicorp/random internal/provider/resource_password.go (passwordSchemaV3): arguments RequiresReplace",
  },
  kubernetes_namespace_v1: {
    arguments: ["metadata.name"],
    source: "hashicorp/kubernetes 2.38 docs, r/namespace_v1: metadata.name forces a new namespace",
  },
  kubernetes_secret_v1: {
    arguments: ["metadata.name", "metadata.namespace"],
    source: "hashicorp/kubernetes 2.38 docs, r/secret_v1: metadata.name and namespace force a new secret",
  },
};

/** Meta-arguments and cdktf metadata: not configuration the provider plans. */
export const META_ARGUMENTS = new Set(["//", "depends_on", "lifecycle", "provider", "count", "for_each", "provisioner", "connection"]);

/** The force-new argument a changed attribute path falls under, if any. */
export function forceNewArgument(type: string, path: string): string | undefined {
  const entry = FORCE_NEW[type];
  if (!entry) return undefined;
  if (entry.arguments.includes("*")) return path.split(/[.[]/)[0];
  return entry.arguments.find((argument) => path === argument || path.startsWith(`${argument}.`) || path.startsWith(`${argument}[`));
}
