import { stringify } from "yaml";

/** One `write_files` entry of a cloud-config. */
export interface WriteFile {
  readonly path: string;
  readonly permissions: string;
  readonly owner: string;
  readonly encoding?: "b64";
  readonly content: string;
}

export const plainFile = (path: string, content: string, permissions = "0644"): WriteFile => ({
  path,
  permissions,
  owner: "root:root",
  content,
});

/** base64 content: Terraform-generated PEMs and secrets stay one line in the YAML. */
export const encodedFile = (path: string, base64: string, permissions = "0600"): WriteFile => ({
  path,
  permissions,
  owner: "root:root",
  encoding: "b64",
  content: base64,
});

export interface CloudConfigProps {
  readonly ntpServers: readonly string[];
  readonly sshAuthorizedKeys: readonly string[];
  readonly packages: readonly string[];
  readonly files: readonly WriteFile[];
  readonly runcmd: ReadonlyArray<readonly string[]>;
  /** apt's proxy at sites without direct internet access. @default none */
  readonly aptProxy?: { readonly http: string; readonly https: string };
}

/**
 * The cloud-config every VM of ours boots with: NTP, SSH keys only (no passwords, no root
 * login), updated package lists, then its own packages, files and commands.
 */
export function renderCloudConfig(where: string, props: CloudConfigProps): string {
  const document = {
    ntp: { enabled: true, servers: [...props.ntpServers] },
    ssh_authorized_keys: [...props.sshAuthorizedKeys],
    ssh_pwauth: false,
    disable_root: true,
    ...(props.aptProxy ? { apt: { http_proxy: props.aptProxy.http, https_proxy: props.aptProxy.https } } : {}),
    package_update: true,
    packages: [...props.packages],
    write_files: props.files.map((file) => ({ ...file })),
    runcmd: props.runcmd.map((command) => [...command]),
  };
  return assertNoTemplateSyntax(where, `#cloud-config\n${stringify(document, { lineWidth: 0 })}`);
}

/**
 * Terraform reads `${` and `%{` in any string as template syntax, so a literal one in a script
 * would be evaluated (or fail) at plan time. Only cdktf's own token markers may use them.
 */
export function assertNoTemplateSyntax(where: string, text: string): string {
  const literal = text.replace(/\$\{TfToken\[[^\]]+\]\}/g, "");
  const match = /\$\{|%\{/.exec(literal);
  if (match) {
    const context = literal.slice(Math.max(0, match.index - 30), match.index + 30);
    throw new Error(
      `${where}: user-data contains Terraform template syntax "${match[0]}" near ${JSON.stringify(context)}; escape it the Terraform way ($$ or %% before the brace)`,
    );
  }
  return text;
}
