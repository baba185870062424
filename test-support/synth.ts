import { App } from "cdktf";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateSiteConfig, type SiteConfig, type SiteConfigInput } from "../config/schema";
import { site as defaultSite } from "../config/site";
import { Environment } from "../lib/environment";
import { readSynthOutput, type StackJson } from "../lib/plan-summary/synth-output";
import { addEnvironmentStacks, type EnvironmentStacks } from "../stacks/environment-stacks";

export interface SynthResult {
  readonly outdir: string;
  readonly environment: Environment;
  readonly stacks: ReadonlyMap<string, StackJson>;
  readonly built: EnvironmentStacks;
  readonly site: SiteConfig;
}

/** A deep copy of the repository's site config, for tests that change one field. */
export function siteInput(): SiteConfigInput {
  return structuredClone(defaultSite);
}

/** Synthesizes one branch's whole app, as `cdktf synth` would, into a fresh directory. */
export function synthBranch(branch: string, input: SiteConfigInput = defaultSite): SynthResult {
  const outdir = mkdtempSync(join(tmpdir(), "synth-"));
  const app = new App({ outdir, stackTraces: false });
  const environment = new Environment(branch, "test");
  const site = validateSiteConfig(input);
  const built = addEnvironmentStacks(app, environment, site);
  app.synth();
  return { outdir, environment, stacks: readSynthOutput(outdir).stacks, built, site };
}

/** Every file below a directory, with its contents. */
export function filesBelow(directory: string): Array<{ path: string; text: string }> {
  const files: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) files.push(...filesBelow(path));
    else files.push({ path, text: readFileSync(path, "utf8") });
  }
  return files;
}

/** All `type.name` keys of a given resource type in a stack. */
export function resourcesOfType(stack: StackJson | undefined, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(stack?.resource?.[type] ?? {});
}

/** Synthesized JSON read back in a test, where its shape is asserted rather than typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = Record<string, any>;

/** A helm_release's body as synthesized. */
export type ReleaseBody = Record<string, unknown> & {
  name: string;
  chart: string;
  namespace: string;
  values: string[];
  depends_on?: string[];
  version?: string;
  repository?: string;
};

/** A branch's analytics stack: its helm releases by name, and the directory its assets are in. */
export function analyticsReleasesOf(branch: string, input: SiteConfigInput = defaultSite) {
  const result = synthBranch(branch, input);
  const id = `analytics-${result.environment.slug}`;
  const stack = result.stacks.get(id)!;
  const releases = new Map(
    resourcesOfType(stack, "helm_release").map(([key, body]) => [(body as ReleaseBody).name, { key, body: body as ReleaseBody }]),
  );
  return { result, stack, releases, stackDir: join(result.outdir, "stacks", id) };
}
