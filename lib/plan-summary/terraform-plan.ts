import { readFileSync } from "node:fs";
import { flattenAttributes } from "./attributes";
import type { Action, ArgumentChange, ReplaceReason, ResourceImpact } from "./impact";
import { REDACTED } from "./redact";

/**
 * The parts of `terraform show -json <planfile>` this reads, as the JSON output format
 * documents them (developer.hashicorp.com/terraform/internals/json-format, "Plan
 * Representation" and "Change Representation"); OpenTofu writes the same format.
 */
interface PlanJson {
  format_version?: string;
  resource_changes?: Array<{
    address: string;
    mode?: "managed" | "data";
    type: string;
    name: string;
    action_reason?: string;
    change: {
      actions: string[];
      before?: unknown;
      after?: unknown;
      after_unknown?: unknown;
      before_sensitive?: unknown;
      after_sensitive?: unknown;
      replace_paths?: Array<Array<string | number>>;
    };
  }>;
}

/** The documented action lists: ["delete","create"] and ["create","delete"] are replacements. */
function actionOf(actions: readonly string[]): Action | undefined {
  const key = actions.join(",");
  if (key === "create") return "create";
  if (key === "delete") return "destroy";
  if (key === "update") return "update";
  if (key === "delete,create" || key === "create,delete") return "replace";
  return undefined; // no-op, read
}

const REASONS: Record<string, string> = {
  replace_because_tainted: "the object is tainted",
  replace_because_cannot_update: "the provider cannot update it in place",
  replace_by_request: "replacement was requested (-replace)",
  replace_by_triggers: "lifecycle.replace_triggered_by fired",
  delete_because_no_resource_config: "its configuration was removed",
};

/** Paths marked true in a sensitive or unknown mask (the same shape as the value). */
function markedPaths(mask: unknown): Set<string> {
  const marked = new Set<string>();
  for (const [path, value] of flattenAttributes(mask)) if (value === "true") marked.add(path);
  return marked;
}

const covered = (paths: Set<string>, path: string) =>
  [...paths].some((marked) => marked === "" || path === marked || path.startsWith(`${marked}.`) || path.startsWith(`${marked}[`));

/** Resource actions of one stack's plan, keyed `<stack>: <address>`, with their values redacted. */
export function readTerraformPlan(stack: string, file: string): Map<string, ResourceImpact> {
  let plan: PlanJson;
  try {
    plan = JSON.parse(readFileSync(file, "utf8")) as PlanJson;
  } catch (error) {
    throw new Error(`plan-summary: --plan ${stack}=${file}: not a readable JSON plan (${(error as Error).message})`);
  }
  if (!Array.isArray(plan.resource_changes)) {
    throw new Error(`plan-summary: --plan ${stack}=${file}: no resource_changes; pass the output of \`terraform show -json <planfile>\``);
  }
  const impacts = new Map<string, ResourceImpact>();
  for (const change of plan.resource_changes) {
    if (change.mode === "data") continue;
    const action = actionOf(change.change.actions);
    const address = change.address;
    if (!action) {
      impacts.set(`${stack}: ${address}`, {
        stack,
        address,
        type: change.type,
        action: "no-op",
        changes: [],
        replaceReasons: [],
        fromPlan: true,
      });
      continue;
    }
    const sensitive = new Set([...markedPaths(change.change.before_sensitive), ...markedPaths(change.change.after_sensitive)]);
    const unknown = markedPaths(change.change.after_unknown);
    const before = flattenAttributes(change.change.before ?? {});
    const after = flattenAttributes(change.change.after ?? {});
    const changes: ArgumentChange[] = [];
    if (action === "update" || action === "replace") {
      for (const path of [...new Set([...before.keys(), ...after.keys(), ...unknown])].sort()) {
        const isUnknown = covered(unknown, path);
        if (!isUnknown && before.get(path) === after.get(path)) continue;
        const secret = covered(sensitive, path);
        const text = (value: string | undefined) => (value === undefined ? undefined : secret ? REDACTED : (JSON.parse(value) as unknown));
        const show = (value: unknown) => (value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value));
        changes.push({
          path,
          before: show(text(before.get(path))),
          after: isUnknown ? "(known after apply)" : show(text(after.get(path))),
          cause: [{ address: `${stack}: ${address}.${path}`, how: "changes (terraform plan)" }],
        });
      }
    }
    const replaceReasons: ReplaceReason[] =
      action === "replace"
        ? [
            ...(change.change.replace_paths ?? []).map((path) => ({ path: path.join("."), why: `${path.join(".")} forces replacement` })),
            ...(change.action_reason ? [{ path: "", why: REASONS[change.action_reason] ?? change.action_reason }] : []),
          ]
        : [];
    if (action === "replace" && replaceReasons.length === 0) replaceReasons.push({ path: "", why: "the plan replaces it" });
    impacts.set(`${stack}: ${address}`, {
      stack,
      address,
      type: change.type,
      action,
      changes,
      replaceReasons,
      before: (change.change.before ?? undefined) as Record<string, unknown> | undefined,
      after: (change.change.after ?? undefined) as Record<string, unknown> | undefined,
      fromPlan: true,
    });
  }
  return impacts;
}
