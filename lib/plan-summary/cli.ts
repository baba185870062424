import { Command } from "commander";
import { writeFileSync } from "node:fs";
import { analyseImpact, type ResourceImpact } from "./impact";
import { GITHUB_COMMENT_LIMIT, failedRules, renderImpact } from "./render-impact";
import { RISK_RULES } from "./risk";
import { renderSummary } from "./summary";
import { emptySynthOutput, readSynthOutput } from "./synth-output";
import { readTerraformPlan } from "./terraform-plan";

const collect = (value: string, previous: string[]) => [...previous, value];

const program = new Command()
  .name("plan-summary")
  .description("Markdown for pull-request review: what a change does to each stack, its risks first; needs no terraform binary")
  .option("--out <dir>", "the synth output to summarize (the change's head)", "cdktf.out")
  .option("--against <dir>", 'the synth output to compare with (the base branch), or "none" for a new environment')
  .option("--plan <stack=file>", "`terraform show -json` output for a stack: its actions replace the inference (repeatable)", collect, [])
  .option("--fail-on <rules>", `exit 3 when one of these rules applies (comma-separated: ${Object.keys(RISK_RULES).join(", ")})`)
  .option("--write <file>", "also write the full report (never cut) to this file")
  .option("--max-chars <n>", "cut the printed report to this length, keeping risks and counts", String(GITHUB_COMMENT_LIMIT))
  .addHelpText(
    "after",
    `\nRules for --fail-on:\n${Object.entries(RISK_RULES)
      .map(([rule, text]) => `  ${rule.padEnd(9)} ${text}`)
      .join("\n")}\n`,
  )
  .action((options: { out: string; against?: string; plan: string[]; failOn?: string; write?: string; maxChars: string }) => {
    const maxChars = Number(options.maxChars);
    if (!Number.isInteger(maxChars) || maxChars < 1000)
      throw new Error(`plan-summary: --max-chars "${options.maxChars}" must be a whole number of at least 1000`);
    const rules = options.failOn
      ? options.failOn
          .split(",")
          .map((rule) => rule.trim())
          .filter(Boolean)
      : [];
    const current = readSynthOutput(options.out);
    if (!options.against) {
      if (rules.length > 0 || options.plan.length > 0)
        throw new Error("plan-summary: --fail-on and --plan need --against (what the change is compared with)");
      const markdown = renderSummary(current);
      if (options.write) writeFileSync(options.write, markdown);
      process.stdout.write(markdown);
      return;
    }
    const planned = new Map<string, ResourceImpact>();
    const plannedStacks: string[] = [];
    for (const entry of options.plan) {
      const [stack, file] = entry.split(/=(.*)/s);
      if (!stack || !file) throw new Error(`plan-summary: --plan "${entry}" must be <stack>=<file>`);
      if (!current.stacks.has(stack))
        throw new Error(`plan-summary: --plan ${stack}: no such stack in ${options.out} (has ${[...current.stacks.keys()].join(", ")})`);
      for (const [key, impact] of readTerraformPlan(stack, file)) planned.set(key, impact);
      plannedStacks.push(stack);
    }
    const before = options.against === "none" ? emptySynthOutput() : readSynthOutput(options.against);
    const impact = analyseImpact(before, current, planned);
    const rendered = renderImpact(impact, {
      against: options.against === "none" ? "nothing (a new environment)" : `\`${options.against}\``,
      fullReport: options.write,
      maxChars,
      plannedStacks,
    });
    const inventory = `\n---\n\n${renderSummary(current)}`;
    if (options.write) writeFileSync(options.write, rendered.full + inventory);
    const where = options.write ? `the full report is in \`${options.write}\`` : "run with `--write FILE` for the full report";
    const leftOut = `\n_The inventory of every stack is left out to fit ${maxChars} characters; ${where}._\n`;
    if (!rendered.cut && rendered.markdown.length + inventory.length <= maxChars) process.stdout.write(rendered.markdown + inventory);
    else if (!rendered.cut && rendered.markdown.length + leftOut.length <= maxChars) process.stdout.write(rendered.markdown + leftOut);
    else process.stdout.write(rendered.markdown);
    const failed = failedRules(rendered.report, rules);
    if (failed.length > 0) {
      process.stderr.write(`plan-summary: --fail-on ${failed.map((line) => `\n  ${line}`).join("")}\n`);
      process.exitCode = 3;
    }
  });

try {
  program.parse();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
