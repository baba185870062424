import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

/** One stack's synthesized Terraform JSON (cdk.tf.json). */
export type StackJson = Record<string, unknown> & {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, Record<string, unknown>>;
  variable?: Record<string, Record<string, unknown>>;
  terraform?: Record<string, unknown>;
};

export interface SynthOutput {
  readonly directory: string;
  readonly stacks: ReadonlyMap<string, StackJson>;
}

interface Manifest {
  stacks: Record<string, { synthesizedStackPath: string; dependencies?: string[] }>;
}

/** Reads a `cdktf.out` directory through its manifest, as `cdktf deploy` does. */
export function readSynthOutput(directory: string): SynthOutput {
  const manifestPath = join(directory, "manifest.json");
  if (!existsSync(manifestPath)) {
    throw new Error(`plan-summary: ${manifestPath} not found; run \`npm run synth\` first, or pass the directory that holds manifest.json`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  const stacks = new Map<string, StackJson>();
  for (const [id, entry] of Object.entries(manifest.stacks).sort(([a], [b]) => a.localeCompare(b))) {
    stacks.set(id, JSON.parse(readFileSync(join(directory, entry.synthesizedStackPath), "utf8")) as StackJson);
  }
  return { directory, stacks };
}

/** Every resource and data source of a stack as `type.name` (data sources as `data.type.name`). */
export function addressesOf(stack: StackJson): Map<string, Record<string, unknown>> {
  const addresses = new Map<string, Record<string, unknown>>();
  for (const [type, byName] of Object.entries(stack.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) addresses.set(`${type}.${name}`, body);
  }
  for (const [type, byName] of Object.entries(stack.data ?? {})) {
    for (const [name, body] of Object.entries(byName)) addresses.set(`data.${type}.${name}`, body);
  }
  return addresses;
}
