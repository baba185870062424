import { spawnSync } from "node:child_process";
import { existsSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { targetFromEnvironment, upsertComment } from "./sticky-comment";

const root = join(__dirname, "..", "..");

function run(argv: string[], cwd: string, env: Record<string, string> = {}): { status: number | null; stdout: string } {
  const result = spawnSync(argv[0], argv.slice(1), {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout };
}

/**
 * For a pull request into `TARGET_BRANCH` (main or staging): synthesize that environment from
 * the head and from `BASE_REF` (a git worktree), summarize the difference, post it as one sticky
 * comment, and apply the risk gate (`RISK_RULES`, skipped when `RISK_APPROVED=true`).
 */
export async function planPullRequest(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const target = env.TARGET_BRANCH;
  const base = env.BASE_REF;
  if (!target || !base) throw new Error("ci:plan: set TARGET_BRANCH (the environment, e.g. main) and BASE_REF (the base commit)");
  const worktree = join(root, ".ci", "base");
  if (existsSync(worktree)) run(["git", "worktree", "remove", "--force", worktree], root);
  if (run(["git", "worktree", "add", "--detach", worktree, base], root).status !== 0) throw new Error(`ci:plan: cannot check out ${base}`);
  if (!existsSync(join(worktree, "node_modules"))) symlinkSync(join(root, "node_modules"), join(worktree, "node_modules"), "dir");
  const outputs = { head: join(root, "cdktf.out.head"), base: join(root, "cdktf.out.base") };
  for (const [side, cwd] of [
    ["head", root],
    ["base", worktree],
  ] as const) {
    rmSync(outputs[side], { recursive: true, force: true });
    const synth = run(["npx", "ts-node", "--transpile-only", "main.ts"], cwd, {
      CDKTF_ENV: target,
      CDKTF_OUTDIR: outputs[side],
      CHECKPOINT_DISABLE: "1",
    });
    if (synth.status !== 0) throw new Error(`ci:plan: synth of the ${side} failed`);
  }
  const rules = env.RISK_APPROVED === "true" ? [] : ["--fail-on", env.RISK_RULES ?? "quorum,stateful"];
  const summary = run(
    [
      "npx",
      "ts-node",
      "--transpile-only",
      "lib/plan-summary/cli.ts",
      "--out",
      outputs.head,
      "--against",
      outputs.base,
      "--write",
      join(root, "plan-impact.md"),
      ...rules,
    ],
    root,
  );
  const approval = env.RISK_APPROVED === "true" ? "\n_Risk gate skipped: the pull request carries the risk-approved label._\n" : "";
  const comment = `${summary.stdout}${approval}`;
  writeFileSync(join(root, "plan-comment.md"), comment);
  const api = targetFromEnvironment(env);
  if (api) process.stdout.write(`ci:plan: ${await upsertComment(api, comment)} the pull request comment\n`);
  else process.stdout.write(comment);
  return summary.status ?? 1;
}

if (require.main === module) {
  planPullRequest().then(
    (status) => process.exit(status),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
