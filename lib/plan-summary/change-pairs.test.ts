/**
 * Before/after synth pairs of the real app, one per routine change, and what the plan
 * summary says each does. The expectations are the truth of the synthesized JSON.
 */
import * as analyticsPlatform from "../../constructs/analytics-platform";
import * as k3sUserData from "../../constructs/k3s-user-data";
import type { SiteConfigInput } from "../../config/schema";
import { siteInput, synthBranch } from "../../test-support/synth";
import { analyseImpact, type Impact, type ResourceImpact } from "./impact";
import { renderImpact } from "./render-impact";
import { emptySynthOutput, readSynthOutput, type SynthOutput } from "./synth-output";

const synth = (branch: string, input: SiteConfigInput = siteInput()): SynthOutput => readSynthOutput(synthBranch(branch, input).outdir);

function pair(change: { site?: (site: SiteConfigInput) => void; code?: () => void }, branch = "main"): Impact {
  const before = synth(branch);
  const input = siteInput();
  change.site?.(input);
  change.code?.();
  try {
    return analyseImpact(before, synth(branch, input));
  } finally {
    jest.restoreAllMocks();
  }
}

const byAction = (impact: Impact, action: ResourceImpact["action"]) =>
  impact.resources.filter((resource) => resource.action === action).map((resource) => `${resource.stack}: ${resource.address}`);
const vmNames = (impact: Impact, action: ResourceImpact["action"]) =>
  impact.resources
    .filter((resource) => resource.type === "vsphere_virtual_machine" && resource.action === action)
    .map((resource) => String((resource.before ?? resource.after)!.name))
    .sort();
const causeOf = (impact: Impact, vm: string, path: string) =>
  impact.resources
    .find((resource) => String(resource.after?.name) === vm)!
    .changes.find((change) => change.path === path)!
    .cause.map((step) => `${step.address} ${step.how}`);
const rules = (impact: Impact) => [...new Set(renderImpact(impact, { against: "base" }).report.risks.map((risk) => risk.rule))];

describe("plan impact of routine changes to the real app", () => {
  it("a k3s version bump: replaces no VM, and upgrades in place through the upgrade Plans' new version", () => {
    const impact = pair({ code: () => jest.replaceProperty(k3sUserData as { K3S_VERSION: string }, "K3S_VERSION", "v1.33.6+k3s1") });
    expect(vmNames(impact, "replace")).toEqual([]);
    expect(byAction(impact, "replace")).toEqual([]);
    const upgrade = impact.resources.find((resource) => resource.after?.name === "system-upgrade")!;
    expect(upgrade.action).toBe("update");
    expect(upgrade.changes.map(({ path, before, after }) => ({ path, before, after }))).toEqual([
      { path: "values[0]", before: "k3sVersion: v1.33.5+k3s1\n", after: "k3sVersion: v1.33.6+k3s1\n" },
    ]);
    // The user-data still changes (for nodes created from now on), and the summary says so.
    expect(impact.values.filter((value) => value.kind === "changed" && /^local\.k3s_user_data_/.test(value.address))).toHaveLength(6);
    expect(rules(impact)).toEqual([]);
    expect(renderImpact(impact, { against: "base" }).markdown).toContain(
      "platform-main: the user-data of main-agent-1, main-agent-2, main-agent-3, main-server-1, main-server-2, main-server-3 changes; it applies to nodes created from now on",
    );
  });

  it("an SSH key added: replaces no VM (user-data applies to new nodes; the VPN gateway rebuilds only for VPN files)", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq0mSgG8cgTgqM2h2b8Hq1GRmSwXn7yYNbgTBCqkM7y newcomer@streamstats";
    const impact = pair({ site: (site) => (site.sshPublicKeys = [...site.sshPublicKeys, key]) });
    expect(vmNames(impact, "replace")).toEqual([]);
    expect(byAction(impact, "replace")).toEqual([]);
  });

  it("collector replicas changed: updates the collector release in place, nothing else", () => {
    const impact = pair({ site: (site) => (site.tiers.production.collector.replicas = 4) });
    expect(byAction(impact, "update")).toEqual([expect.stringMatching(/^analytics-main: helm_release\.releases_collector_release_/)]);
    expect(byAction(impact, "replace")).toEqual([]);
    const values = impact.resources[0].changes.find((change) => change.path === "values[0]")!;
    expect(values.before).toContain("replicaCount: 3");
    expect(values.after).toContain("replicaCount: 4");
    expect(rules(impact)).toEqual([]);
  });

  it("a chart version bump: updates the release in place and calls out a 0.x minor bump as major", () => {
    const impact = pair({
      code: () => jest.replaceProperty(analyticsPlatform, "METALLB_CHART", { ...analyticsPlatform.METALLB_CHART, version: "0.17.0" }),
    });
    const metallb = impact.resources.filter((resource) => resource.action === "update");
    expect(metallb.map((resource) => resource.after?.name)).toEqual(["metallb"]);
    expect(metallb[0].changes.map(({ path, before, after }) => ({ path, before, after }))).toEqual([
      { path: "version", before: "0.16.1", after: "0.17.0" },
    ]);
    expect(rules(impact)).toEqual(["major"]);
  });

  it("a preview branch added: creates its namespace and releases, destroys nothing", () => {
    const after = synth("new-thing");
    const impact = analyseImpact(emptySynthOutput(), after);
    expect(byAction(impact, "destroy")).toEqual([]);
    expect(byAction(impact, "create")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^analytics-new-thing: kubernetes_namespace_v1\./),
        expect.stringMatching(/^analytics-new-thing: helm_release\..*clickhouse/),
        expect.stringMatching(/^analytics-new-thing: helm_release\..*collector/),
      ]),
    );
    expect(rules(impact)).not.toContain("stateful");
  });

  it("a VPN user removed: destroys the user's key and certificate and replaces the gateway for its allowlist", () => {
    const impact = pair({ site: (site) => (site.vpn.users = site.vpn.users.filter((user) => user.name !== "bob")) });
    expect(byAction(impact, "destroy").sort()).toEqual([
      expect.stringMatching(/^vpn-main: tls_cert_request\..*bob/),
      expect.stringMatching(/^vpn-main: tls_locally_signed_cert\..*bob/),
      expect.stringMatching(/^vpn-main: tls_private_key\..*bob/),
    ]);
    expect(vmNames(impact, "replace")).toEqual(["main-vpn"]);
    // The gateway's replace_trigger hashes its VPN files: the allowlist changed.
    expect(causeOf(impact, "main-vpn", "replace_trigger")).toEqual([
      expect.stringMatching(/^vpn-main: local\.gateway_vm_rebuild_on_[0-9A-F]{8} edited$/),
      expect.stringMatching(/^vpn-main: vsphere_virtual_machine\.gateway_vm_[0-9A-F]{8}\.replace_trigger changes$/),
    ]);
    expect(impact.values.filter((value) => value.kind === "removed").map((value) => value.address)).toEqual(
      expect.arrayContaining(["output.user_bob_cert_pem", "output.user_bob_key_pem"]),
    );
  });
});
