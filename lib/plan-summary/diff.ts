import { addressesOf, type SynthOutput } from "./synth-output";

export interface ResourceChange {
  /** `<stack>: <type>.<name>` */
  readonly address: string;
  /** Attribute paths whose values differ, e.g. `disk[0].size`. */
  readonly paths: readonly string[];
}

export interface SynthDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly ResourceChange[];
}

/** Leaf values by attribute path; cdktf's `//` metadata (construct paths) is not configuration. */
export function flattenAttributes(value: unknown, prefix = "", into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(prefix, "[]");
    value.forEach((item, index) => flattenAttributes(item, `${prefix}[${index}]`, into));
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([key]) => key !== "//");
    if (entries.length === 0) into.set(prefix, "{}");
    for (const [key, child] of entries) flattenAttributes(child, prefix ? `${prefix}.${key}` : key, into);
  } else {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}

function allAddresses(output: SynthOutput): Map<string, Record<string, unknown>> {
  const all = new Map<string, Record<string, unknown>>();
  for (const [stackId, stack] of output.stacks) {
    for (const [address, body] of addressesOf(stack)) all.set(`${stackId}: ${address}`, body);
  }
  return all;
}

/** Resource-level differences between two synth outputs; needs no terraform binary. */
export function diffSynthOutputs(before: SynthOutput, after: SynthOutput): SynthDiff {
  const old = allAddresses(before);
  const current = allAddresses(after);
  const added = [...current.keys()].filter((address) => !old.has(address)).sort();
  const removed = [...old.keys()].filter((address) => !current.has(address)).sort();
  const changed: ResourceChange[] = [];
  for (const [address, body] of current) {
    const previous = old.get(address);
    if (!previous) continue;
    const a = flattenAttributes(previous);
    const b = flattenAttributes(body);
    const paths = [...new Set([...a.keys(), ...b.keys()])].filter((path) => a.get(path) !== b.get(path)).sort();
    if (paths.length > 0) changed.push({ address, paths });
  }
  changed.sort((x, y) => x.address.localeCompare(y.address));
  return { added, removed, changed };
}
