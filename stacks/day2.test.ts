/**
 * Day 2 on the real app: routine changes replace no VM; `node:replace` replaces exactly one.
 * Judged by the plan summary's reading of the synthesized JSON (before/after synth pairs).
 */
import { parse } from "yaml";
import type { SiteConfigInput } from "../config/schema";
import { K3S_TLS_DIR } from "../constructs/k3s-user-data";
import { analyseImpact, type Impact } from "../lib/plan-summary/impact";
import { readSynthOutput } from "../lib/plan-summary/synth-output";
import { planReplacement } from "../lib/node-replace";
import { withSampleValues, writtenFiles } from "../test-support/cloud-config";
import { siteInput, synthBranch } from "../test-support/synth";
import { validateSiteConfig } from "../config/schema";

function pair(change: (site: SiteConfigInput) => void): { impact: Impact; after: ReturnType<typeof synthBranch> } {
  const before = readSynthOutput(synthBranch("main").outdir);
  const input = siteInput();
  change(input);
  const after = synthBranch("main", input);
  return { impact: analyseImpact(before, readSynthOutput(after.outdir)), after };
}
const vms = (impact: Impact, action: string) =>
  impact.resources
    .filter((resource) => resource.type === "vsphere_virtual_machine" && resource.action === action)
    .map((resource) => String((resource.after ?? resource.before)!.name))
    .sort();
/** What `npm run node:replace -- <node>` writes, applied to the site. */
const replaced = (node: string) => (site: SiteConfigInput) => {
  site.nodeGenerations = planReplacement(node, validateSiteConfig(siteInput()), {}).generations;
};

describe("day 2: what routine changes replace", () => {
  it("an NTP server changed: no VM", () => {
    const { impact } = pair((site) => (site.ntp = ["ntp3.streamstats.internal"]));
    expect(vms(impact, "replace")).toEqual([]);
    expect(impact.resources.filter((resource) => resource.action !== "update")).toEqual([]);
  });

  it("one more worker: one VM created, none replaced", () => {
    const { impact } = pair((site) => (site.tiers.production.workers.count = 4));
    expect(vms(impact, "create")).toEqual(["main-agent-4"]);
    expect(vms(impact, "replace")).toEqual([]);
    expect(vms(impact, "destroy")).toEqual([]);
  });

  it("node:replace of an agent: exactly that VM, for its new generation", () => {
    const { impact } = pair(replaced("main-agent-2"));
    expect(vms(impact, "replace")).toEqual(["main-agent-2"]);
    const vm = impact.resources.find((resource) => resource.after?.name === "main-agent-2")!;
    expect(vm.changes.map(({ path, before, after }) => ({ path, before, after }))).toEqual([
      { path: "replace_trigger", before: "main-agent-2/generation-0", after: "main-agent-2/generation-1" },
    ]);
  });

  it("node:replace of server-1: exactly that VM, which joins the cluster instead of initialising it", () => {
    const { impact, after } = pair(replaced("main-server-1"));
    expect(vms(impact, "replace")).toEqual(["main-server-1"]);
    const [, document] = Object.entries(after.stacks.get("cluster-main")!.locals as Record<string, string>).find(([name]) =>
      name.includes("main-server-1"),
    )!;
    const files = writtenFiles(withSampleValues(document));
    const config = parse(files.find((file) => file.path === "/etc/rancher/k3s/config.yaml")!.content) as Record<string, unknown>;
    expect(config["cluster-init"]).toBeUndefined();
    expect(config.server).toBe("https://10.20.0.11:6443");
    // k3s docs/cli/certificate.md: only the first start of the first server reads the CA files.
    expect(files.filter((file) => file.path.startsWith(K3S_TLS_DIR))).toEqual([]);
    expect(impact.resources.some((resource) => resource.action === "destroy")).toBe(false);
  });

  it("node:replace refuses the only server of a tier, and unknown nodes", () => {
    const site = validateSiteConfig(siteInput());
    expect(() => planReplacement("staging-server-1", site, {})).toThrow(/staging's only etcd server; replacing it starts an empty cluster/);
    expect(() => planReplacement("main-agent-7", site, {})).toThrow(/no node "main-agent-7"; the nodes are main-server-1/);
    expect(() => validateSiteConfig({ ...siteInput(), nodeGenerations: { "main-agent-7": 1 } })).toThrow(
      /nodeGenerations\.main-agent-7: 1 names no node/,
    );
  });
});
