import { createPatch } from "diff";
import type { ArgumentChange, CauseStep, Impact, ResourceImpact, ValueImpact } from "./impact";
import { stringsIn } from "./impact";
import { decodeText, isSecretPath, redactText, redactValue } from "./redact";
import { assessRisks, RISK_RULES, type RiskReport } from "./risk";
import { deployOrder } from "./synth-output";

/** GitHub's limit for one pull-request comment. */
export const GITHUB_COMMENT_LIMIT = 65_536;

const ACTION_TITLES = { replace: "Replace", destroy: "Destroy", update: "Update in place", create: "Create" } as const;
const SHORT = 120;

const code = (text: string) => `\`${text.replace(/`/g, "'").replace(/\n/g, "⏎")}\``;

function chain(steps: readonly CauseStep[]): string {
  return steps.map((step) => `${code(step.address)} ${step.how}`).join(" → ");
}

/** A value as text a reviewer can read: decoded when encoded, always redacted. */
function readable(path: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const decoded = decodeText(value);
  return redactValue(path, decoded ?? value);
}

/** Before → after, inline when short, else a unified diff of lines folded in <details>. */
function valueDiff(label: string, path: string, before: string | undefined, after: string | undefined): string {
  const old = readable(path, before);
  const current = readable(path, after);
  if (old === current) return "changes (only in redacted parts)";
  const short = (text: string | undefined) => text === undefined || (text.length <= SHORT && !text.includes("\n"));
  if (short(old) && short(current))
    return `${old === undefined ? "(absent)" : code(old)} → ${current === undefined ? "(absent)" : code(current)}`;
  const patch = createPatch(label, old ?? "", current ?? "", "", "", { context: 3 })
    .split("\n")
    .slice(4)
    .join("\n")
    .trimEnd();
  const changed = patch.split("\n").filter((line) => /^[+-]/.test(line)).length;
  return `<details><summary>${changed} changed lines</summary>\n\n\`\`\`diff\n${patch.replace(/```/g, "'''")}\n\`\`\`\n\n</details>`;
}

function argumentLine(change: ArgumentChange): string {
  if (change.before !== undefined || change.after !== undefined) {
    return `  - ${code(change.path)}: ${valueDiff(change.path, change.path, change.before, change.after)}`;
  }
  return `  - ${code(change.path)} changes: ${chain(change.cause)}`;
}

function resourceLines(resource: ResourceImpact): string[] {
  const name =
    typeof (resource.after ?? resource.before)?.name === "string" ? ` (${String((resource.after ?? resource.before)!.name)})` : "";
  const lines = [`- ${code(resource.address)}${name}${resource.fromPlan ? " _(from the terraform plan)_" : ""}`];
  if (resource.action === "replace") for (const reason of resource.replaceReasons) lines.push(`  - **replaced because** ${reason.why}`);
  if (resource.action === "replace" || resource.action === "update")
    for (const change of resource.changes) lines.push(argumentLine(change));
  return lines;
}

/** Outputs and variables marked sensitive, and anything named like a secret, show no value. */
function isSensitive(value: ValueImpact): boolean {
  const marked = (body: unknown) => typeof body === "object" && body !== null && (body as { sensitive?: unknown }).sensitive === true;
  return marked(value.before) || marked(value.after) || isSecretPath(value.address);
}

function valueLine(value: ValueImpact): string {
  if (value.kind !== "changed") return `- ${code(value.address)} ${value.kind}`;
  const edited = value.cause.length === 1 && value.cause[0].how === "edited";
  if (!edited) return `- ${code(value.address)} changes: ${chain(value.cause)}`;
  if (isSensitive(value)) return `- ${code(value.address)} edited: (sensitive)`;
  return `- ${code(value.address)} edited: ${valueDiff(value.address, value.address, stringsIn(value.before), stringsIn(value.after))}`;
}

function riskSection(report: RiskReport): string {
  const lines = ["## Risks\n"];
  if (report.risks.length === 0) lines.push("_No replaced nodes, destroyed data, major chart changes or new ports._\n");
  for (const risk of report.risks) lines.push(`- ${risk.rule ? `**${risk.rule}**: ` : ""}${redactText(risk.message)}`);
  if (report.vms.length > 0) {
    lines.push("", "| stack | VM | role | action | why |", "| --- | --- | --- | --- | --- |");
    for (const vm of report.vms)
      lines.push(`| ${vm.stack} | ${vm.name} | ${vm.role} | ${vm.action} | ${redactText(vm.why).replace(/\|/g, "\\|")} |`);
  }
  return `${lines.join("\n")}\n`;
}

function counts(impact: Impact): string {
  const count = (action: string) => impact.resources.filter((resource) => resource.action === action).length;
  return `**${count("create")} to create, ${count("update")} to update in place, ${count("replace")} to replace, ${count("destroy")} to destroy**; ${impact.values.length} other values change`;
}

function stackSection(stack: string, impact: Impact): string | undefined {
  const resources = impact.resources.filter((resource) => resource.stack === stack);
  const values = impact.values.filter((value) => value.stack === stack);
  if (resources.length === 0 && values.length === 0) return undefined;
  const parts = [`### ${stack}\n`];
  for (const action of ["replace", "destroy", "update", "create"] as const) {
    const group = resources.filter((resource) => resource.action === action);
    if (group.length === 0) continue;
    parts.push(`**${ACTION_TITLES[action]}** (${group.length})\n`);
    parts.push(
      group
        .flatMap((resource) =>
          action === "create" || action === "destroy" ? resourceLines(resource).slice(0, 1) : resourceLines(resource),
        )
        .join("\n") + "\n",
    );
  }
  if (values.length > 0) {
    parts.push(`**Other values** (locals, outputs, variables, providers, backend, data sources: ${values.length})\n`);
    parts.push(values.map(valueLine).join("\n") + "\n");
  }
  return parts.join("\n");
}

export interface RenderOptions {
  /** What the change is against, for the heading. */
  readonly against: string;
  /** Where the full report is written, named when the text had to be cut. */
  readonly fullReport?: string;
  /** Longest text to return. @default GITHUB_COMMENT_LIMIT */
  readonly maxChars?: number;
  /** Stacks whose actions came from a terraform plan. */
  readonly plannedStacks?: readonly string[];
}

/**
 * The impact report: counts and risks first, then each stack in deploy order. When it is
 * longer than `maxChars`, whole stack sections are cut from the end and the report says so.
 */
export function renderImpact(impact: Impact, options: RenderOptions): { markdown: string; full: string; cut: boolean; report: RiskReport } {
  const report = assessRisks(impact);
  const source = options.plannedStacks?.length
    ? `actions from \`terraform show -json\` for ${options.plannedStacks.map(code).join(", ")}, inferred elsewhere`
    : "inferred from the synthesized JSON; no terraform plan read";
  const head = [`# Plan impact against ${options.against}\n`, `${counts(impact)} (${source})\n`, riskSection(report)].join("\n");
  const order = [...new Set([...deployOrder(impact.after), ...deployOrder(impact.before)])];
  const sections = order.map((stack) => stackSection(stack, impact)).filter((section): section is string => section !== undefined);
  const body = sections.length > 0 ? `## Changes by stack (deploy order)\n\n${sections.join("\n")}` : "## Changes by stack\n\n_none_\n";
  const full = `${head}\n${body}`;
  const limit = options.maxChars ?? GITHUB_COMMENT_LIMIT;
  if (full.length <= limit) return { markdown: full, full, cut: false, report };
  const where = options.fullReport
    ? `the full report is in ${code(options.fullReport)}`
    : "run `npm run plan:summary -- --write FILE` for the full report";
  const kept: string[] = [];
  for (const section of sections) {
    const note = `\n_${sections.length - kept.length - 1} more stack sections cut to fit ${limit} characters; ${where}._\n`;
    if (head.length + 40 + [...kept, section].join("\n").length + note.length > limit) break;
    kept.push(section);
  }
  const note = `\n_${sections.length - kept.length} stack sections cut to fit ${limit} characters; ${where}._\n`;
  let markdown = `${head}\n## Changes by stack (deploy order)\n\n${kept.join("\n")}${note}`;
  if (markdown.length > limit) markdown = `${head.slice(0, limit - note.length - 20)}\n…\n${note}`;
  return { markdown, full, cut: true, report };
}

/** The rules that `--fail-on` names and this change breaks, with why. */
export function failedRules(report: RiskReport, rules: readonly string[]): string[] {
  const unknown = rules.filter((rule) => !(rule in RISK_RULES));
  if (unknown.length > 0)
    throw new Error(
      `plan-summary: --fail-on ${unknown.map((rule) => `"${rule}"`).join(", ")} is not a rule; use ${Object.keys(RISK_RULES).join(", ")}`,
    );
  return report.risks.filter((risk) => risk.rule && rules.includes(risk.rule)).map((risk) => `${risk.rule}: ${redactText(risk.message)}`);
}
