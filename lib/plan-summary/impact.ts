import { createHash } from "node:crypto";
import { flattenAttributes } from "./attributes";
import { forceNewArgument, META_ARGUMENTS } from "./force-new";
import { addressesOf, type StackJson, type SynthOutput } from "./synth-output";

export type Action = "create" | "update" | "replace" | "destroy" | "no-op";
export type Side = "before" | "after";

/** One hop of the path from an edited value to the argument it changed. */
export interface CauseStep {
  /** `<stack>: <block>`, e.g. `cluster-main: local.user_data` or `platform-main: vsphere_virtual_machine.x.replace_trigger`. */
  readonly address: string;
  /** What happened there: "edited", "changes", "is replaced", "is created", "added", "removed". */
  readonly how: string;
}

export interface ArgumentChange {
  readonly path: string;
  /** The literal values, when the expression text itself changed (else the inputs did). */
  readonly before?: string;
  readonly after?: string;
  /** From the edited value to this argument; the last step is the argument itself. */
  readonly cause: readonly CauseStep[];
}

export interface ReplaceReason {
  readonly path: string;
  readonly why: string;
}

export interface ResourceImpact {
  readonly stack: string;
  /** `type.name` */
  readonly address: string;
  readonly type: string;
  readonly action: Action;
  readonly changes: readonly ArgumentChange[];
  readonly replaceReasons: readonly ReplaceReason[];
  readonly before?: Record<string, unknown>;
  readonly after?: Record<string, unknown>;
  /** Set when the action came from a terraform plan, not from inference. */
  readonly fromPlan?: boolean;
}

/** A changed local, output, variable, provider block, backend or remote state. */
export interface ValueImpact {
  readonly stack: string;
  readonly address: string;
  readonly kind: "added" | "removed" | "changed";
  readonly before?: unknown;
  readonly after?: unknown;
  readonly cause: readonly CauseStep[];
}

export interface Impact {
  readonly resources: readonly ResourceImpact[];
  readonly values: readonly ValueImpact[];
  readonly before: SynthOutput;
  readonly after: SynthOutput;
}

/** A reference inside `${…}`: `local.x`, `var.x`, `data.t.n.attr…`, `t.n.attr…`. */
const REFERENCE = /(?<![A-Za-z0-9_."\]-])((?:data\.)?[A-Za-z][A-Za-z0-9_]*\.[A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+|\[[0-9]+\]|\["[^"]*"\])*)/g;
const NOT_REFERENCES = new Set(["self", "each", "count", "path", "terraform"]);

/** Every `${…}` interpolation in a string, including nested ones, as one flat list of texts. */
function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let index = text.indexOf("${"); index !== -1; index = text.indexOf("${", index + 2)) {
    let depth = 0;
    for (let end = index; end < text.length; end++) {
      if (text[end] === "{") depth++;
      if (text[end] === "}" && --depth === 0) {
        found.push(text.slice(index + 2, end));
        break;
      }
    }
  }
  return found;
}

/** References in an expression string, as `head` (block) and `rest` (attribute path). */
export function referencesIn(text: string): Array<{ text: string; head: string; rest: string }> {
  const references = new Map<string, { text: string; head: string; rest: string }>();
  for (const expression of interpolations(text)) {
    // Quoted literals inside an expression are not references.
    const code = expression.replace(/"(?:[^"\\]|\\.)*"/g, (literal) => (literal.includes("${") ? literal : '""'));
    for (const match of code.matchAll(REFERENCE)) {
      const head = match[1];
      if (NOT_REFERENCES.has(head.split(".")[0])) continue;
      references.set(match[0], { text: match[0], head, rest: match[2] });
    }
  }
  return [...references.values()];
}

const hash = (text: string) => createHash("sha1").update(text).digest("hex").slice(0, 12);

/** A stack's blocks by address: resources, data, locals, outputs, variables, providers, backend. */
function blocksOf(stack: StackJson): Map<string, unknown> {
  const blocks = new Map<string, unknown>(addressesOf(stack));
  for (const [name, value] of Object.entries(stack.locals ?? {})) blocks.set(`local.${name}`, value);
  for (const [name, body] of Object.entries(stack.output ?? {})) blocks.set(`output.${name}`, body);
  for (const [name, body] of Object.entries(stack.variable ?? {})) blocks.set(`var.${name}`, body);
  for (const [type, configs] of Object.entries(stack.provider ?? {})) {
    configs.forEach((config, index) => blocks.set(`provider.${type}${configs.length > 1 ? `[${index}]` : ""}`, config));
  }
  const backend = (stack.terraform as { backend?: unknown } | undefined)?.backend;
  if (backend) blocks.set("backend", backend);
  return blocks;
}

/** The backend a remote state points at, in the same shape as the producer's `terraform.backend`. */
function remoteStateBackend(body: Record<string, unknown>): string {
  const config = { ...((body.config as Record<string, unknown>) ?? {}) };
  return JSON.stringify({ [String(body.backend)]: config });
}

function backendKey(stack: StackJson): string | undefined {
  const backend = (stack.terraform as { backend?: Record<string, unknown> } | undefined)?.backend;
  if (!backend) return undefined;
  const [type, config] = Object.entries(backend)[0];
  return JSON.stringify({ [type]: config });
}

/** Both sides of a change, with every reference followed to what it resolves to. */
export class ImpactAnalysis {
  private readonly blocks: Record<Side, Map<string, Map<string, unknown>>> = { before: new Map(), after: new Map() };
  private readonly producers: Record<Side, Map<string, string>> = { before: new Map(), after: new Map() };
  private readonly actions = new Map<string, ResourceImpact>();
  private readonly fingerprints = new Map<string, string>();
  private readonly classifying = new Set<string>();

  constructor(
    readonly before: SynthOutput,
    readonly after: SynthOutput,
    /** Actions from `terraform show -json`, by `<stack>: <type.name>`, instead of inference. */
    private readonly planned = new Map<string, ResourceImpact>(),
  ) {
    for (const side of ["before", "after"] as const) {
      for (const [id, stack] of this.output(side).stacks) {
        this.blocks[side].set(id, blocksOf(stack));
        const key = backendKey(stack);
        if (key) this.producers[side].set(key, id);
      }
    }
  }

  private output(side: Side): SynthOutput {
    return side === "before" ? this.before : this.after;
  }

  block(side: Side, stack: string, address: string): unknown {
    return this.blocks[side].get(stack)?.get(address);
  }

  /** Everything that can change, as `<stack>: <address>`, from both sides. */
  private allAddresses(): string[] {
    const all = new Set<string>();
    for (const side of ["before", "after"] as const)
      for (const [stack, blocks] of this.blocks[side]) for (const address of blocks.keys()) all.add(`${stack}: ${address}`);
    return [...all].sort();
  }

  /** The stack a `terraform_remote_state` reads, when it is part of this synth. */
  producerOf(side: Side, stack: string, remoteStateName: string): string | undefined {
    const body = this.block(side, stack, `data.terraform_remote_state.${remoteStateName}`) as Record<string, unknown> | undefined;
    return body ? this.producers[side].get(remoteStateBackend(body)) : undefined;
  }

  /** A value with every reference replaced by what it resolves to on that side: equal iff unchanged. */
  resolve(side: Side, stack: string, value: unknown): string {
    if (typeof value === "string") {
      let text = value;
      for (const reference of referencesIn(value)) {
        text = text.split(reference.text).join(`⟦${this.referenceFingerprint(side, stack, reference.head, reference.rest)}⟧`);
      }
      return JSON.stringify(text);
    }
    if (Array.isArray(value)) return `[${value.map((item) => this.resolve(side, stack, item)).join(",")}]`;
    if (value !== null && typeof value === "object") {
      return `{${Object.entries(value)
        .filter(([key]) => key !== "//")
        .map(([key, item]) => `${JSON.stringify(key)}:${this.resolve(side, stack, item)}`)
        .join(",")}}`;
    }
    return JSON.stringify(value);
  }

  /** What `head.rest` resolves to, as a short fingerprint. */
  referenceFingerprint(side: Side, stack: string, head: string, rest: string): string {
    const key = `${side}|${stack}|${head}${rest}`;
    const known = this.fingerprints.get(key);
    if (known !== undefined) return known;
    const value = hash(this.referenceValue(side, stack, head, rest));
    this.fingerprints.set(key, value);
    return value;
  }

  private referenceValue(side: Side, stack: string, head: string, rest: string): string {
    const [first] = head.split(".");
    if (first === "local" || first === "var") {
      const body = this.block(side, stack, head);
      return body === undefined ? `missing ${head}` : this.resolve(side, stack, first === "var" ? { ...(body as object) } : body);
    }
    if (head.startsWith("data.terraform_remote_state.")) {
      const remote = head.slice("data.terraform_remote_state.".length);
      const output = /^\.outputs\.([A-Za-z0-9_-]+)/.exec(rest)?.[1];
      const producer = this.producerOf(side, stack, remote);
      const body = this.block(side, stack, head) as Record<string, unknown> | undefined;
      if (!body) return `missing ${head}`;
      if (!producer || !output) return `external ${remoteStateBackend(body)} ${rest}`;
      const produced = this.block(side, producer, `output.${output}`) as { value?: unknown } | undefined;
      return produced ? this.resolve(side, producer, produced.value) : `missing ${producer}: output.${output}`;
    }
    // A resource (`type.name`) or a data source (`data.type.name`), then an attribute path.
    const isData = first === "data";
    const address = head;
    const path = rest.slice(1);
    const body = this.block(side, stack, address) as Record<string, unknown> | undefined;
    if (!body) return `missing ${address}`;
    const attribute = path.split(/[.[]/)[0];
    if (attribute && attribute in body && !META_ARGUMENTS.has(attribute)) return this.resolve(side, stack, body[attribute]);
    if (isData) return `data ${address}.${path} of ${hash(this.resolve(side, stack, body))}`;
    if (side === "after") {
      const action = this.classify(stack, address).action;
      if (action === "create" || action === "replace") return `new ${address}.${path}`;
    }
    return `computed ${address}.${path}`;
  }

  /** Leaf attribute values with references resolved, by path. */
  private resolvedLeaves(side: Side, stack: string, body: Record<string, unknown>): Map<string, string> {
    const leaves = new Map<string, string>();
    for (const [key, value] of Object.entries(body)) {
      if (META_ARGUMENTS.has(key)) continue;
      for (const [path, literal] of flattenAttributes(value, key)) {
        leaves.set(path, /\$\{/.test(literal) ? this.resolve(side, stack, JSON.parse(literal)) : literal);
      }
    }
    return leaves;
  }

  /** What happens to one resource, with the arguments that changed and why. */
  classify(stack: string, address: string): ResourceImpact {
    const key = `${stack}: ${address}`;
    const known = this.actions.get(key);
    if (known) return known;
    const planned = this.planned.get(key);
    if (planned) {
      this.actions.set(key, planned);
      return planned;
    }
    if (this.classifying.has(key)) throw new Error(`plan-summary: reference cycle through ${key}`);
    this.classifying.add(key);
    const before = this.block("before", stack, address) as Record<string, unknown> | undefined;
    const after = this.block("after", stack, address) as Record<string, unknown> | undefined;
    const type = address.split(".")[0];
    let impact: ResourceImpact;
    if (!before && after) impact = { stack, address, type, action: "create", changes: [], replaceReasons: [], after };
    else if (before && !after) impact = { stack, address, type, action: "destroy", changes: [], replaceReasons: [], before };
    else impact = this.compare(stack, address, type, before!, after!);
    this.classifying.delete(key);
    this.actions.set(key, impact);
    return impact;
  }

  private compare(
    stack: string,
    address: string,
    type: string,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
  ): ResourceImpact {
    const old = this.resolvedLeaves("before", stack, before);
    const current = this.resolvedLeaves("after", stack, after);
    const lifecycle = (after.lifecycle ?? {}) as { ignore_changes?: string[] | string; replace_triggered_by?: string[] };
    const ignored: string[] = lifecycle.ignore_changes === "all" ? ["*"] : [lifecycle.ignore_changes ?? []].flat();
    const isIgnored = (path: string) =>
      ignored.some((prefix) => prefix === "*" || path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`));
    const paths = [...new Set([...old.keys(), ...current.keys()])]
      .filter((path) => old.get(path) !== current.get(path) && !isIgnored(path))
      .sort();
    const flatBefore = flattenAttributes(before);
    const flatAfter = flattenAttributes(after);
    const changes = paths.map((path) => this.argumentChange(stack, address, path, flatBefore.get(path), flatAfter.get(path)));
    const replaceReasons: ReplaceReason[] = [];
    for (const path of paths) {
      const argument = forceNewArgument(type, path);
      if (argument)
        replaceReasons.push({
          path,
          why: argument === "replace_trigger" ? "replace_trigger changed" : `${argument} forces a new resource`,
        });
    }
    for (const trigger of lifecycle.replace_triggered_by ?? []) {
      const [triggerType, triggerName, ...attribute] = trigger.split(".");
      const target = `${triggerType}.${triggerName}`;
      if (attribute.length === 0) {
        const action = this.classify(stack, target).action;
        if (action !== "no-op")
          replaceReasons.push({
            path: "lifecycle.replace_triggered_by",
            why: `${target} is ${action === "update" ? "updated" : action === "create" ? "created" : action === "destroy" ? "destroyed" : "replaced"}`,
          });
      } else if (
        this.referenceFingerprint("before", stack, target, `.${attribute.join(".")}`) !==
        this.referenceFingerprint("after", stack, target, `.${attribute.join(".")}`)
      ) {
        replaceReasons.push({ path: "lifecycle.replace_triggered_by", why: `${trigger} changes` });
      }
    }
    const action: Action = replaceReasons.length > 0 ? "replace" : changes.length > 0 ? "update" : "no-op";
    return { stack, address, type, action, changes, replaceReasons, before, after };
  }

  private argumentChange(stack: string, address: string, path: string, before?: string, after?: string): ArgumentChange {
    const here = { address: `${stack}: ${address}.${path}`, how: "changes" };
    const beforeValue = before === undefined ? undefined : (JSON.parse(before) as unknown);
    const afterValue = after === undefined ? undefined : (JSON.parse(after) as unknown);
    if (masked(beforeValue) !== masked(afterValue)) {
      return {
        path,
        before: show(beforeValue),
        after: show(afterValue),
        cause: [{ ...here, how: before === undefined ? "added" : after === undefined ? "removed" : "edited" }],
      };
    }
    return { path, cause: [...this.explain(stack, stringsIn(afterValue)), here] };
  }

  /** The hops from the value that was edited to this expression, following the first changed input. */
  explain(stack: string, expression: string, depth = 0): CauseStep[] {
    if (depth > 16) return [{ address: `${stack}: …`, how: "changes (chain cut at 16 hops)" }];
    for (const reference of referencesIn(expression)) {
      const before = this.referenceFingerprint("before", stack, reference.head, reference.rest);
      const after = this.referenceFingerprint("after", stack, reference.head, reference.rest);
      if (before === after) continue;
      return this.explainReference(stack, reference.head, reference.rest, depth);
    }
    return [];
  }

  private explainReference(stack: string, head: string, rest: string, depth: number): CauseStep[] {
    const [first] = head.split(".");
    const step = (how: string, address = head) => ({ address: `${stack}: ${address}`, how });
    if (first === "local" || first === "var") {
      const before = this.block("before", stack, head);
      const after = this.block("after", stack, head);
      if (before === undefined) return [step("added")];
      if (after === undefined) return [step("removed")];
      if (masked(before) !== masked(after)) return [step("edited")];
      return [...this.explain(stack, stringsIn(after), depth + 1), step("changes")];
    }
    if (head.startsWith("data.terraform_remote_state.")) {
      const remote = head.slice("data.terraform_remote_state.".length);
      const output = /^\.outputs\.([A-Za-z0-9_-]+)/.exec(rest)?.[1];
      const producer = this.producerOf("after", stack, remote) ?? this.producerOf("before", stack, remote);
      const here = step("changes", `${head}${rest}`);
      if (!producer || !output) return [here];
      const value = (this.block("after", producer, `output.${output}`) as { value?: unknown } | undefined)?.value;
      const upstream =
        value === undefined
          ? [{ address: `${producer}: output.${output}`, how: "removed" }]
          : this.explainOutput(producer, output, value, depth);
      return [...upstream, here];
    }
    const isData = first === "data";
    const address = head;
    if (!isData) {
      const impact = this.classify(stack, address);
      if (impact.action === "create" || impact.action === "replace")
        return [step(impact.action === "create" ? "is created" : "is replaced", address)];
      const attribute = rest.slice(1).split(/[.[]/)[0];
      const changed = impact.changes.find(
        (change) => change.path === attribute || change.path.startsWith(`${attribute}.`) || change.path.startsWith(`${attribute}[`),
      );
      if (changed) return [...changed.cause];
    }
    return [step("changes", `${head}${rest}`)];
  }

  private explainOutput(producer: string, output: string, value: unknown, depth: number): CauseStep[] {
    const before = (this.block("before", producer, `output.${output}`) as { value?: unknown } | undefined)?.value;
    const here = { address: `${producer}: output.${output}`, how: before === undefined ? "added" : "changes" };
    if (before !== undefined && masked(before) !== masked(value)) return [{ ...here, how: "edited" }];
    return [...this.explain(producer, stringsIn(value), depth + 1), here];
  }

  /** Every resource with an action, in deploy order, then every other changed value. */
  analyse(): Impact {
    const resources: ResourceImpact[] = [];
    const values: ValueImpact[] = [];
    for (const key of this.allAddresses()) {
      const [stack, address] = key.split(": ");
      const kind = address.split(".")[0];
      const isResource = !["local", "output", "var", "provider", "backend", "data"].includes(kind);
      if (isResource) {
        const impact = this.classify(stack, address);
        if (impact.action !== "no-op") resources.push(impact);
        continue;
      }
      const before = this.block("before", stack, address);
      const after = this.block("after", stack, address);
      if (before === undefined || after === undefined) {
        values.push({ stack, address, kind: before === undefined ? "added" : "removed", before, after, cause: [] });
        continue;
      }
      if (this.resolve("before", stack, before) === this.resolve("after", stack, after)) continue;
      const edited = masked(before) !== masked(after);
      values.push({
        stack,
        address,
        kind: "changed",
        before,
        after,
        cause: edited ? [{ address: key, how: "edited" }] : [...this.explain(stack, stringsIn(after)), { address: key, how: "changes" }],
      });
    }
    // Destroyed stacks' resources appear in `before` only and are covered above.
    return { resources, values, before: this.before, after: this.after };
  }
}

/** Every string inside a value, one per line: where references can be. */
export function stringsIn(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(stringsIn).join("\n");
  if (value !== null && typeof value === "object") return Object.values(value).map(stringsIn).join("\n");
  return "";
}

/** A value with its references reduced to their names: equal iff the text itself was not edited. */
function masked(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function show(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Infers what a change between two synth outputs does; `planned` overrides per resource. */
export function analyseImpact(before: SynthOutput, after: SynthOutput, planned?: Map<string, ResourceImpact>): Impact {
  return new ImpactAnalysis(before, after, planned).analyse();
}
