import { K3S_CA_FILES, K3S_TLS_DIR } from "../constructs/k3s-user-data";
import { embeddedScripts, withSampleValues, writtenFiles } from "../test-support/cloud-config";
import { siteInput, synthBranch } from "../test-support/synth";
import { cloudInitSchema, describeWithTool, requireTool, shellcheck } from "../test-support/tools";

/** The cloud-config documents a cluster stack renders, by node name. */
function userDataByNode(branch: string): Map<string, string> {
  const result = synthBranch(branch);
  const locals = (result.stacks.get(`cluster-${result.environment.slug}`)!.locals ?? {}) as Record<string, string>;
  const documents = new Map<string, string>();
  for (const [name, value] of Object.entries(locals)) {
    const node = /^k3s_user_data_(.+)_[0-9A-F]{8}$/.exec(name)?.[1];
    if (node) documents.set(node, value);
  }
  return documents;
}

const tiers = { production: userDataByNode("main"), staging: userDataByNode("staging") };
const everyDocument = Object.entries(tiers).flatMap(([tier, documents]) =>
  [...documents].map(([node, text]) => [tier, node, text] as const),
);

describe("cluster stack user-data", () => {
  it("renders one document per planned node", () => {
    expect([...tiers.production.keys()].sort()).toEqual([
      "main-agent-1",
      "main-agent-2",
      "main-agent-3",
      "main-server-1",
      "main-server-2",
      "main-server-3",
    ]);
    expect([...tiers.staging.keys()].sort()).toEqual(["staging-agent-1", "staging-agent-2", "staging-server-1"]);
  });

  it.each(everyDocument)("%s %s: CA files on the first server only, no private keys elsewhere", (_tier, node, text) => {
    const paths = writtenFiles(withSampleValues(text)).map((file) => file.path);
    if (node.endsWith("-server-1")) {
      for (const name of K3S_CA_FILES) expect(paths).toContain(`${K3S_TLS_DIR}/${name}`);
      expect(text).toMatch(/\$\{base64encode\(tls_private_key\.k3s_server-ca_key_[0-9A-F]+\.private_key_pem\)\}/);
    } else {
      expect(paths.filter((path) => path.startsWith(K3S_TLS_DIR))).toEqual([]);
      expect(text).not.toMatch(/private_key_pem/);
    }
    if (!node.includes("-server-")) expect(text).not.toMatch(/server-secret/);
  });

  it("gives every node of a proxied site the proxy, with NO_PROXY covering the node network", () => {
    const input = siteInput();
    (input as { siteNetwork?: unknown }).siteNetwork = {
      proxy: { http: "http://proxy.internal:3128", https: "http://proxy.internal:3128", noProxy: [".streamstats.internal"] },
    };
    const result = synthBranch("main", input);
    const locals = Object.values(result.stacks.get("cluster-main")!.locals ?? {}) as string[];
    expect(locals).toHaveLength(6);
    for (const text of locals) {
      expect(text).toContain(
        "NO_PROXY='localhost,127.0.0.1,10.20.0.0/24,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local,.streamstats.internal'",
      );
      expect(text).toMatch(/apt:\n {2}http_proxy: http:\/\/proxy\.internal:3128/);
    }
  });

  it("bootstraps etcd on the first server only and joins the others to it", () => {
    const config = (node: string) =>
      writtenFiles(withSampleValues(tiers.production.get(node)!)).find((file) => file.path === "/etc/rancher/k3s/config.yaml")!.content;
    expect(config("main-server-1")).toMatch(/^cluster-init: true$/m);
    for (const node of ["main-server-2", "main-server-3"]) {
      expect(config(node)).toMatch(/^server: https:\/\/10\.20\.0\.10:6443$/m);
      expect(config(node)).not.toMatch(/cluster-init/);
    }
  });
});

const cloudInit = requireTool("cloud-init", "apt-get install cloud-init");
describeWithTool(cloudInit)("every rendered document passes the real cloud-init schema", () => {
  it.each(everyDocument)("%s %s", (_tier, _node, text) => {
    expect(cloudInitSchema(cloudInit!, withSampleValues(text))).toMatchObject({ status: 0 });
  });
});

const shellcheckPath = requireTool("shellcheck", "apt-get install shellcheck");
describeWithTool(shellcheckPath)("every embedded script passes the real shellcheck", () => {
  it.each(everyDocument)("%s %s", (_tier, _node, text) => {
    const scripts = embeddedScripts(withSampleValues(text));
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(shellcheck(shellcheckPath!, script.content)).toMatchObject({ status: 0, output: "" });
  });
});
