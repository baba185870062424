import type { Impact, ResourceImpact } from "./impact";
import { exposedPorts } from "./summary";

/** The rules `--fail-on` accepts, each a class of change that should need an explicit approval. */
export const RISK_RULES = {
  quorum: "etcd servers replaced or destroyed at once leave fewer than a quorum running",
  stateful: "a node that holds volumes, a namespace or a Helm release is replaced or destroyed",
  destroy: "anything is destroyed, replacements included",
  replace: "anything is replaced",
  major: "a Helm chart's major version changes (a 0.x minor version, by semver)",
  ports: "a new port is exposed",
} as const;
export type RiskRule = keyof typeof RISK_RULES;

export interface Risk {
  /** The `--fail-on` rule it falls under; none for what is only worth knowing. */
  readonly rule?: RiskRule;
  readonly message: string;
}

export interface VmImpact {
  readonly stack: string;
  readonly name: string;
  readonly role: string;
  readonly action: ResourceImpact["action"];
  readonly why: string;
}

export interface RiskReport {
  readonly risks: readonly Risk[];
  readonly vms: readonly VmImpact[];
}

/** A VM's role: the first word of the annotation VsphereVm writes, else from its name. */
export function vmRole(body: Record<string, unknown> | undefined): string {
  const annotation = typeof body?.annotation === "string" ? body.annotation.split(" ")[0] : "";
  if (annotation && !annotation.includes("${")) return annotation;
  const name = String(body?.name ?? "");
  return /-server-\d+$/.test(name) ? "server" : /-agent-\d+$/.test(name) ? "agent" : /-vpn$/.test(name) ? "vpn-gateway" : "vm";
}

const major = (version: string) => {
  const [a, b] = version.split(".").map(Number);
  return a === 0 ? `0.${b}` : String(a);
};

function why(resource: ResourceImpact): string {
  if (resource.action === "destroy") return "removed from the configuration";
  return resource.replaceReasons.map((reason) => reason.why).join("; ");
}

/** What a reviewer must not miss, from the inferred (or planned) resource actions. */
export function assessRisks(impact: Impact): RiskReport {
  const risks: Risk[] = [];
  const vms: VmImpact[] = [];
  const gone = (resource: ResourceImpact) => resource.action === "replace" || resource.action === "destroy";
  for (const resource of impact.resources) {
    if (resource.type !== "vsphere_virtual_machine" || !gone(resource)) continue;
    const body = resource.before ?? resource.after;
    vms.push({
      stack: resource.stack,
      name: String(body?.name ?? resource.address),
      role: vmRole(body),
      action: resource.action,
      why: why(resource),
    });
  }

  // etcd: every server VM of a stack, before the change, against those that go down together.
  for (const stack of new Set(vms.map((vm) => vm.stack))) {
    const servers = Object.values(impact.before.stacks.get(stack)?.resource?.vsphere_virtual_machine ?? {}).filter(
      (body) => vmRole(body) === "server",
    );
    const down = vms.filter((vm) => vm.stack === stack && vm.role === "server");
    if (servers.length === 0 || down.length === 0) continue;
    const quorum = Math.floor(servers.length / 2) + 1;
    const left = servers.length - down.length;
    const names = down.map((vm) => vm.name).join(", ");
    if (left < quorum) {
      risks.push({
        rule: "quorum",
        message:
          servers.length === 1
            ? `${stack}: the only etcd server (${names}) is ${down[0].action === "destroy" ? "destroyed" : "replaced"}: the cluster's state is lost unless it is restored from a snapshot`
            : `${stack}: ${down.length} of ${servers.length} etcd servers (${names}) go down at once (Terraform replaces in parallel); ${left} left, a quorum needs ${quorum}`,
      });
    } else {
      risks.push({
        message: `${stack}: ${down.length} of ${servers.length} etcd servers (${names}) are replaced; ${left} stay, quorum ${quorum} holds`,
      });
    }
  }
  for (const stack of new Set(vms.map((vm) => vm.stack))) {
    const stackVms = Object.values(impact.before.stacks.get(stack)?.resource?.vsphere_virtual_machine ?? {});
    const hasAgents = stackVms.some((body) => vmRole(body) === "agent");
    // Workloads' local-path volumes live on the agents' disks (on the server when there are none).
    const holders = vms.filter((vm) => vm.stack === stack && (vm.role === "agent" || (!hasAgents && vm.role === "server")));
    if (holders.length > 0) {
      risks.push({
        rule: "stateful",
        message: `${stack}: ${holders.length} node${holders.length > 1 ? "s" : ""} holding volumes (${holders.map((vm) => vm.name).join(", ")}) ${holders.length > 1 ? "are" : "is"} ${holders.every((vm) => vm.action === "destroy") ? "destroyed" : "replaced"}: their local volumes are deleted`,
      });
    }
  }
  for (const resource of impact.resources) {
    if (!gone(resource)) continue;
    const body = resource.before ?? {};
    if (resource.type === "kubernetes_namespace_v1" || resource.type === "helm_release") {
      const name = resource.type === "helm_release" ? String(body.name) : String((body.metadata as { name?: string } | undefined)?.name);
      risks.push({
        rule: "stateful",
        message: `${resource.stack}: ${resource.type === "helm_release" ? "Helm release" : "namespace"} ${name} is ${resource.action === "destroy" ? "destroyed" : `replaced (${why(resource)})`}, with everything in it`,
      });
    }
  }
  const destroyed = impact.resources.filter(gone);
  if (destroyed.length > 0) {
    const replaced = destroyed.filter((resource) => resource.action === "replace").length;
    risks.push({ rule: "destroy", message: `${destroyed.length} resources are destroyed (${replaced} of them replaced)` });
  }
  if (impact.resources.some((resource) => resource.action === "replace"))
    risks.push({
      rule: "replace",
      message: `${impact.resources.filter((resource) => resource.action === "replace").length} resources are replaced`,
    });

  for (const resource of impact.resources) {
    if (resource.type !== "helm_release" || resource.action !== "update") continue;
    const from = resource.before?.version;
    const to = resource.after?.version;
    if (typeof from !== "string" || typeof to !== "string" || from === to) continue;
    const majorChange = major(from) !== major(to);
    risks.push({
      ...(majorChange ? { rule: "major" as const } : {}),
      message: `${resource.stack}: Helm release ${String(resource.after?.name)} chart ${String(resource.after?.chart)} ${from} → ${to}${majorChange ? " (major version change: read its upgrade notes)" : ""}`,
    });
  }

  // User-data applies at creation: a change reaches running nodes only when they are replaced.
  for (const [stack, json] of impact.after.stacks) {
    const stale: string[] = [];
    for (const body of Object.values(json.resource?.vsphere_virtual_machine ?? {})) {
      const userData = (body.extra_config as Record<string, string> | undefined)?.["guestinfo.userdata"] ?? "";
      const local = /local\.([A-Za-z0-9_-]+)/.exec(userData)?.[1];
      const changed =
        local && impact.values.some((value) => value.stack === stack && value.address === `local.${local}` && value.kind === "changed");
      const vm = impact.resources.find((resource) => resource.stack === stack && resource.after === body);
      if (changed && vm?.action !== "replace" && vm?.action !== "create") stale.push(String(body.name));
    }
    if (stale.length > 0) {
      risks.push({
        message: `${stack}: the user-data of ${stale.join(", ")} changes; it applies to nodes created from now on (replace running ones one at a time with \`npm run node:replace\` if they need it; k3s versions upgrade in place)`,
      });
    }
  }

  const ports = (output: Impact["before"]) =>
    new Set([...output.stacks].flatMap(([id, stack]) => exposedPorts(stack).map((row) => `${id}: ${row[0]} ${row[1]}`)));
  const before = ports(impact.before);
  for (const port of ports(impact.after)) if (!before.has(port)) risks.push({ rule: "ports", message: `new exposed port: ${port}` });
  return { risks, vms };
}
