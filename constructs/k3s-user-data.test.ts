import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { embeddedScripts, writtenFiles } from "../test-support/cloud-config";
import { cloudInitSchema, describeWithTool, requireTool, shellcheck } from "../test-support/tools";
import { assertNoTemplateSyntax } from "./cloud-config";
import {
  K3S_CA_FILES,
  K3S_TLS_DIR,
  NODE_RECEIVE_BUFFER_MAX_BYTES,
  k3sBootstrapScript,
  renderK3sUserData,
  type K3sUserDataProps,
} from "./k3s-user-data";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const caFilesBase64 = Object.fromEntries(K3S_CA_FILES.map((name) => [name, b64(`pem of ${name}`)])) as Record<
  (typeof K3S_CA_FILES)[number],
  string
>;
const common = {
  nodeName: "prod-server-1",
  nodeIp: "10.20.0.10",
  nodeLabels: ["streamstats.io/role=server"],
  nodeTaints: [],
  ntpServers: ["ntp1.example.internal"],
  sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk3bS8ZC9d0ZuKVfc2Ea7c5wT1m9yv1Fh0B2i0yF3ps ops"],
  clusterCaCertBase64: b64("ca cert"),
  joinTokenBase64: b64(`K10${"0".repeat(64)}::server:s`),
};
const siteNetwork = {
  proxy: { http: "http://proxy.example.internal:3128", https: "http://proxy.example.internal:3128", noProxy: ["10.20.0.0/24", ".svc"] },
  artifacts: {
    installScriptUrl: "https://mirror.example.internal/k3s/v1.33.5%2Bk3s1/install.sh",
    releasesUrl: "https://mirror.example.internal/k3s/releases",
  },
  registryMirrors: { "docker.io": ["https://registry.example.internal/v2/dockerhub"] },
};
const documents: Record<string, K3sUserDataProps> = {
  "first server": {
    ...common,
    role: "server",
    bootstrap: "cluster-init",
    tlsSans: ["10.20.0.10"],
    caFilesBase64,
    agentSecretBase64: b64("a"),
  },
  "joining server": {
    ...common,
    role: "server",
    bootstrap: "join",
    serverUrl: "https://10.20.0.10:6443",
    tlsSans: ["10.20.0.10"],
    agentSecretBase64: b64("a"),
  },
  agent: { ...common, role: "agent", serverUrl: "https://10.20.0.10:6443" },
  "agent behind a proxy": { ...common, role: "agent", serverUrl: "https://10.20.0.10:6443", network: siteNetwork },
};

describe("renderK3sUserData", () => {
  it("writes the CA files into k3s's tls directory on the cluster-init server only", () => {
    const paths = (name: string) => writtenFiles(renderK3sUserData(documents[name])).map((file) => file.path);
    for (const name of K3S_CA_FILES) expect(paths("first server")).toContain(`${K3S_TLS_DIR}/${name}`);
    expect(paths("joining server").filter((path) => path.startsWith(K3S_TLS_DIR))).toEqual([]);
    expect(paths("agent").filter((path) => path.startsWith(K3S_TLS_DIR))).toEqual([]);
    expect(paths("agent")).not.toContain("/etc/rancher/k3s/agent-secret");
    expect(() => renderK3sUserData({ ...documents["joining server"], caFilesBase64 } as K3sUserDataProps)).toThrow(
      /joining server must not receive the CA keys/,
    );
  });

  it("keeps private keys and secrets at 0600", () => {
    for (const file of writtenFiles(renderK3sUserData(documents["first server"]))) {
      if (file.path.endsWith(".key") || file.path.endsWith("-secret") || file.path.endsWith("config.yaml"))
        expect([file.path, file.permissions]).toEqual([file.path, "0600"]);
    }
  });

  it("configures k3s for MetalLB, encrypted secrets, reserved resources and the right bootstrap", () => {
    const config = (doc: K3sUserDataProps) =>
      parse(writtenFiles(renderK3sUserData(doc)).find((file) => file.path === "/etc/rancher/k3s/config.yaml")!.content) as Record<
        string,
        unknown
      >;
    const first = config(documents["first server"]);
    expect(first).toMatchObject({ "cluster-init": true, disable: ["servicelb"], "secrets-encryption": true, "tls-san": ["10.20.0.10"] });
    expect(first.server).toBeUndefined();
    expect(config(documents["joining server"])).toMatchObject({ server: "https://10.20.0.10:6443" });
    expect(config(documents["joining server"])["cluster-init"]).toBeUndefined();
    expect(config(documents.agent)).toMatchObject({
      server: "https://10.20.0.10:6443",
      "kubelet-arg": ["config=/etc/rancher/k3s/kubelet.config"],
    });
  });

  // Linux net/core/sock.c (SO_RCVBUF): the request is capped at sysctl_rmem_max, then doubled;
  // net/core/sysctl_net_core.c registers rmem_max for the initial namespace only, so pods cannot raise it.
  it("raises the node's socket receive buffer cap to what the collector's chart requests, before k3s starts", () => {
    const chartValues = parse(readFileSync(join(__dirname, "..", "app", "chart", "values.yaml"), "utf8")) as {
      collector: { recvBufferBytes: number };
    };
    for (const [name, props] of Object.entries(documents)) {
      const document = renderK3sUserData(props);
      const sysctl = writtenFiles(document).find((file) => file.path === "/etc/sysctl.d/90-collector-udp.conf");
      const setting = /^net\.core\.rmem_max = (\d+)$/m.exec(sysctl?.content ?? "");
      expect([name, Number(setting?.[1])]).toEqual([name, NODE_RECEIVE_BUFFER_MAX_BYTES]);
      const runcmd = (parse(document) as { runcmd: string[][] }).runcmd.map((command) => command.join(" "));
      expect(runcmd.indexOf("sysctl --system")).toBeGreaterThanOrEqual(0);
      expect(runcmd.indexOf("sysctl --system")).toBeLessThan(runcmd.indexOf("/usr/local/sbin/k3s-bootstrap"));
    }
    // A larger request than the cap would be cut down without a word but the collector's warning.
    expect(chartValues.collector.recvBufferBytes).toBeLessThanOrEqual(NODE_RECEIVE_BUFFER_MAX_BYTES);
  });

  it("writes the join token Terraform built, and no longer derives one on the node", () => {
    const token = writtenFiles(renderK3sUserData(documents.agent)).find((file) => file.path === "/etc/rancher/k3s/join-token")!;
    expect(token).toMatchObject({ encoding: "b64", permissions: "0600", content: common.joinTokenBase64 });
    expect(k3sBootstrapScript("agent", "v1.33.5+k3s1")).not.toMatch(/openssl|sha256sum|K10/);
  });

  it("routes apt, the installer, k3s and containerd through the site's proxy and mirrors", () => {
    const document = renderK3sUserData(documents["agent behind a proxy"]);
    expect((parse(document) as { apt: unknown }).apt).toEqual({ http_proxy: siteNetwork.proxy.http, https_proxy: siteNetwork.proxy.https });
    const script = k3sBootstrapScript("agent", "v1.33.5+k3s1", siteNetwork);
    // k3s install.sh create_env_file keeps (NO|HTTP|HTTPS)_PROXY for the service; GITHUB_URL moves downloads.
    expect(script).toContain("NO_PROXY='10.20.0.0/24,.svc'");
    expect(script).toContain(`'${siteNetwork.artifacts.installScriptUrl}'`);
    expect(script).toContain(`GITHUB_URL='${siteNetwork.artifacts.releasesUrl}'`);
    const registries = writtenFiles(document).find((file) => file.path === "/etc/rancher/k3s/registries.yaml")!;
    expect(parse(registries.content)).toEqual({ mirrors: { "docker.io": { endpoint: siteNetwork.registryMirrors["docker.io"] } } });
    expect(k3sBootstrapScript("agent", "v1.33.5+k3s1")).toContain(
      "'https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh'",
    );
  });

  it("rejects a joining server without a URL", () => {
    expect(() => renderK3sUserData({ ...documents["joining server"], serverUrl: undefined } as K3sUserDataProps)).toThrow(
      /joining server needs serverUrl/,
    );
  });

  it("rejects literal Terraform template syntax but allows cdktf tokens", () => {
    expect(() => assertNoTemplateSyntax("n1", "echo ${HOME}")).toThrow(/n1: user-data contains Terraform template syntax "\$\{"/);
    expect(() => assertNoTemplateSyntax("n1", "%{ if x }")).toThrow(/"%\{"/);
    expect(assertNoTemplateSyntax("n1", "content: ${TfToken[TOKEN.12]}")).toBe("content: ${TfToken[TOKEN.12]}");
  });
});

const cloudInit = requireTool("cloud-init", "apt-get install cloud-init");
describeWithTool(cloudInit)("cloud-init schema (real cloud-init)", () => {
  it.each(Object.keys(documents))("accepts the %s document", (name) => {
    const result = cloudInitSchema(cloudInit!, renderK3sUserData(documents[name]));
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toMatch(/Valid cloud-config/);
  });

  it("would catch a broken document (the check can fail)", () => {
    const broken = renderK3sUserData(documents.agent).replace("ntp:\n  enabled: true", "ntp:\n  enabled: sometimes");
    expect(cloudInitSchema(cloudInit!, broken).status).not.toBe(0);
  });
});

const shellcheckPath = requireTool("shellcheck", "apt-get install shellcheck");
describeWithTool(shellcheckPath)("shellcheck (real shellcheck)", () => {
  it.each(Object.keys(documents))("passes every script in the %s document", (name) => {
    const scripts = embeddedScripts(renderK3sUserData(documents[name]));
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(shellcheck(shellcheckPath!, script.content)).toMatchObject({ status: 0, output: "" });
  });

  it("would catch an unquoted variable (the check can fail)", () => {
    expect(shellcheck(shellcheckPath!, "#!/bin/sh\nrm -f $1\n").status).not.toBe(0);
  });
});
