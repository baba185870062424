import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The path of a real tool the tests need. Missing locally: the suite is skipped with a loud
 * reason. Missing in CI (CI=true): it throws, so the run fails instead of passing silently.
 */
export function requireTool(name: string, installHint: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = found.status === 0 ? found.stdout.trim() : "";
  if (path) return path;
  const message = `${name} is not installed (${installHint}); .ci/run installs it`;
  if (process.env.CI === "true") throw new Error(`CI: ${message}`);
  console.warn(`SKIPPING: ${message}`);
  return undefined;
}

/**
 * Whether this process runs as root (network namespaces, tmpfs mounts). Not root: false with a
 * loud reason locally, and a thrown error in CI (CI=true), as requireTool does.
 */
export function requireRoot(test: string, reason: string): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === "true") throw new Error(`CI: ${test} needs root ${reason}`);
  console.warn(`SKIPPING: ${test} needs root ${reason}`);
  return false;
}

/** `describe` when the tool exists, `describe.skip` otherwise (see requireTool). */
export function describeWithTool(tool: string | undefined): jest.Describe {
  return tool ? describe : describe.skip;
}

export interface ToolRun {
  readonly status: number | null;
  readonly output: string;
}

/** Runs a tool on text written to a temporary file; returns its exit status and output. */
export function runOnFile(tool: string, args: (file: string) => string[], text: string, fileName = "input"): ToolRun {
  const file = join(mkdtempSync(join(tmpdir(), "tool-")), fileName);
  writeFileSync(file, text);
  const run = spawnSync(tool, args(file), { encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

export function cloudInitSchema(cloudInit: string, document: string): ToolRun {
  return runOnFile(cloudInit, (file) => ["schema", "--config-file", file], document, "user-data.yaml");
}

export function shellcheck(shellcheckPath: string, script: string): ToolRun {
  return runOnFile(shellcheckPath, (file) => ["--severity=style", file], script, "script.sh");
}

export function toolVersion(tool: string, args = ["--version"]): string {
  return execFileSync(tool, args, { encoding: "utf8" }).split("\n")[0];
}
