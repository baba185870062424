import { Command } from "commander";
import { writeFileSync } from "node:fs";
import { diffSynthOutputs } from "./diff";
import { renderDiff, renderSummary } from "./summary";
import { readSynthOutput } from "./synth-output";

const program = new Command()
  .name("plan-summary")
  .description("Markdown summary of synthesized stacks for pull-request review; needs no terraform binary")
  .option("--out <dir>", "the synth output to summarize", "cdktf.out")
  .option("--against <dir>", "another synth output (e.g. from the target branch) to diff against")
  .option("--write <file>", "write the Markdown to a file instead of stdout")
  .action((options: { out: string; against?: string; write?: string }) => {
    const current = readSynthOutput(options.out);
    let markdown = renderSummary(current);
    if (options.against)
      markdown += "\n" + renderDiff(diffSynthOutputs(readSynthOutput(options.against), current), `\`${options.against}\``);
    if (options.write) writeFileSync(options.write, markdown);
    else process.stdout.write(markdown);
  });

try {
  program.parse();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
