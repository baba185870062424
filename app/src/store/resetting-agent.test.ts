import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { NetnsLab } from "../../../test-support/netns";
import { describeWithTool, requireRoot, requireTool } from "../../../test-support/tools";

const ip = requireTool("ip", "apt-get install iproute2");
const nft = requireTool("nft", "apt-get install nftables");
const isRoot = requireRoot("the resetting-agent test", "for a network namespace");

/**
 * A request body stuck in the kernel (nftables drops everything to the server), the request
 * destroyed, the network healed: what does the server get? This is the partition test's
 * duplicate, made deterministic: a stalled INSERT that still arrives runs after the retry.
 */
describeWithTool(ip && nft && isRoot ? "yes" : undefined)("resettingAgent against a stalled connection", () => {
  const lab = new NetnsLab(`ssr${process.pid}`);
  afterAll(() => lab.cleanup());

  const probe = (agent: "default" | "resetting") => {
    const ns = lab.addNamespace(agent);
    const output = execFileSync(
      "ip",
      ["netns", "exec", ns, process.execPath, "-r", "ts-node/register/transpile-only", join(__dirname, "stalled-request-probe.ts"), agent],
      { cwd: join(__dirname, "..", "..", ".."), encoding: "utf8", timeout: 30_000 },
    );
    return JSON.parse(output.trim().split("\n").pop()!) as { bytes: number; ending: string };
  };

  it("with Node's default agent the queued body and a clean end still reach the server after the heal (the control)", () => {
    const seen = probe("default");
    expect(seen.bytes).toBeGreaterThanOrEqual(60_000);
    expect(seen.ending).toBe("end");
  }, 40_000);

  it("with the resetting agent the queue is discarded: the server gets none of the body", () => {
    const seen = probe("resetting");
    expect(seen.bytes).toBe(0);
    expect(seen.ending).not.toBe("end");
  }, 40_000);
});
