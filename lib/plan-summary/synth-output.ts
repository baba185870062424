import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One stack's synthesized Terraform JSON (cdk.tf.json). */
export type StackJson = Record<string, unknown> & {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, Record<string, unknown>>;
  variable?: Record<string, Record<string, unknown>>;
  locals?: Record<string, unknown>;
  provider?: Record<string, Array<Record<string, unknown>>>;
  terraform?: Record<string, unknown>;
};

export interface SynthOutput {
  readonly directory: string;
  readonly stacks: ReadonlyMap<string, StackJson>;
  /** Each stack's dependencies, from manifest.json (the order `cdktf deploy` follows). */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
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
  const dependencies = new Map<string, readonly string[]>();
  for (const [id, entry] of Object.entries(manifest.stacks).sort(([a], [b]) => a.localeCompare(b))) {
    stacks.set(id, JSON.parse(readFileSync(join(directory, entry.synthesizedStackPath), "utf8")) as StackJson);
    dependencies.set(id, entry.dependencies ?? []);
  }
  return { directory, stacks, dependencies };
}

/** A synth output with no stacks: the "before" of a branch that has never been deployed. */
export function emptySynthOutput(directory = "(nothing)"): SynthOutput {
  return { directory, stacks: new Map(), dependencies: new Map() };
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

/** Stack ids in deploy order (dependencies first), ties by name. */
export function deployOrder(output: SynthOutput): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (id: string) => {
    if (order.includes(id) || visiting.has(id)) return;
    visiting.add(id);
    for (const dependency of output.dependencies.get(id) ?? []) if (output.stacks.has(dependency)) visit(dependency);
    order.push(id);
  };
  for (const id of [...output.stacks.keys()].sort()) visit(id);
  return order;
}
