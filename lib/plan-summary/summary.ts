import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import type { ExposedPort } from "../exposed-port";
import { addressesOf, type StackJson, type SynthOutput } from "./synth-output";

const SENSITIVE = "(sensitive)";

function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return "_none_\n";
  const escape = (cell: string) => cell.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
    "",
  ].join("\n");
}

function isExpression(value: unknown): boolean {
  return typeof value === "string" && value.includes("${");
}

function show(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (isExpression(value)) return "(known after apply)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The VM's static addresses, read back from its gzip+base64 guestinfo metadata. */
export function vmAddresses(body: Record<string, unknown>): string {
  const extra = (body.extra_config ?? {}) as Record<string, unknown>;
  const metadata = extra["guestinfo.metadata"];
  if (typeof metadata !== "string" || isExpression(metadata)) return "(known after apply)";
  try {
    const text =
      extra["guestinfo.metadata.encoding"] === "gzip+base64" ? gunzipSync(Buffer.from(metadata, "base64")).toString("utf8") : metadata;
    const document = parse(text) as { network?: { ethernets?: Record<string, { addresses?: string[] }> } };
    return Object.values(document.network?.ethernets ?? {})
      .flatMap((nic) => nic.addresses ?? [])
      .join(", ");
  } catch {
    return "(unreadable metadata)";
  }
}

function resourcesOfType(stack: StackJson, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(stack.resource?.[type] ?? {});
}

export function exposedPorts(stack: StackJson): string[][] {
  const rows: string[][] = [];
  for (const [address, body] of addressesOf(stack)) {
    const comment = body["//"] as { exposes?: ExposedPort[] } | undefined;
    for (const port of comment?.exposes ?? []) rows.push([address, `${port.port}/${port.protocol}`, port.description]);
  }
  for (const type of ["kubernetes_service_v1", "kubernetes_service"]) {
    for (const [name, body] of resourcesOfType(stack, type)) {
      // cdktf writes single nested blocks as objects; hand-written JSON may use a list.
      const spec = (Array.isArray(body.spec) ? body.spec[0] : body.spec) as
        | { type?: string; port?: Array<{ port: number; protocol?: string }> }
        | undefined;
      for (const port of spec?.port ?? []) {
        rows.push([`${type}.${name}`, `${port.port}/${(port.protocol ?? "TCP").toLowerCase()}`, spec?.type ?? "ClusterIP"]);
      }
    }
  }
  return rows;
}

function stackSection(stackId: string, stack: StackJson): string {
  const parts: string[] = [`## ${stackId}\n`];
  const counts = new Map<string, number>();
  for (const [type, byName] of Object.entries(stack.resource ?? {})) counts.set(type, Object.keys(byName).length);
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  parts.push(`**${total} resources**\n`);
  parts.push(
    table(
      ["resource type", "count"],
      [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => [type, String(count)]),
    ),
  );

  const vms = resourcesOfType(stack, "vsphere_virtual_machine");
  if (vms.length > 0) {
    parts.push("### Virtual machines\n");
    parts.push(
      table(
        ["name", "CPU", "memory (MiB)", "disk (GiB)", "IP"],
        vms.map(([, body]) => {
          const disks = (body.disk as Array<{ size?: number }>) ?? [];
          return [
            show(body.name),
            show(body.num_cpus),
            show(body.memory),
            disks.map((disk) => show(disk.size)).join(" + "),
            vmAddresses(body),
          ];
        }),
      ),
    );
  }

  const releases = resourcesOfType(stack, "helm_release");
  if (releases.length > 0) {
    parts.push("### Helm releases\n");
    parts.push(
      table(
        ["release", "chart", "version", "namespace", "repository"],
        releases.map(([, body]) => [
          show(body.name),
          show(body.chart),
          show(body.version) || "(local chart)",
          show(body.namespace),
          show(body.repository) || "(local)",
        ]),
      ),
    );
  }

  const ports = exposedPorts(stack);
  if (ports.length > 0) {
    parts.push("### Exposed ports\n");
    parts.push(table(["resource", "port", "what"], ports));
  }

  const secrets: string[][] = [];
  for (const [name, variable] of Object.entries(stack.variable ?? {})) {
    if (variable.sensitive) secrets.push([`var.${name}`, SENSITIVE]);
  }
  for (const [name, output] of Object.entries(stack.output ?? {})) {
    if (output.sensitive) secrets.push([`output.${name}`, SENSITIVE]);
  }
  for (const [name, body] of releases) {
    for (const entry of (body.set_sensitive as Array<{ name: string }>) ?? [])
      secrets.push([`helm_release.${name} ${entry.name}`, SENSITIVE]);
  }
  if (secrets.length > 0) {
    parts.push("### Secrets\n");
    parts.push(table(["name", "value"], secrets));
  }
  return parts.join("\n");
}

/** Markdown a reviewer can paste into a pull request. */
export function renderSummary(output: SynthOutput): string {
  const sections = [`# Plan summary\n\nStacks: ${[...output.stacks.keys()].map((id) => `\`${id}\``).join(", ")}\n`];
  for (const [stackId, stack] of output.stacks) sections.push(stackSection(stackId, stack));
  return sections.join("\n");
}
