import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { Password } from "@cdktf/provider-random/lib/password";
import { Testing } from "cdktf";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { writtenFiles } from "../test-support/cloud-config";
import { createCa } from "../test-support/pki";
import { testStack } from "../test-support/stack";
import { evaluateTemplate } from "../test-support/terraform-template";
import { K3S_TLS_DIR } from "./k3s-user-data";
import { K3sCluster, type K3sClusterProps } from "./k3s-cluster";

const node = (name: string, address: string) => ({ name, address });
function build(change: Partial<K3sClusterProps> = {}) {
  const stack = testStack();
  const cluster = new K3sCluster(stack, "k3s", {
    clusterName: "test",
    servers: [node("t-server-1", "10.0.0.10"), node("t-server-2", "10.0.0.11"), node("t-server-3", "10.0.0.12")],
    agents: [node("t-agent-1", "10.0.0.13")],
    ntpServers: ["ntp.test.internal"],
    sshAuthorizedKeys: ["ssh-ed25519 AAAA test"],
    ...change,
  });
  return { cluster, synthesized: Testing.synth(stack) };
}

describe("K3sCluster", () => {
  it("generates the k3s CAs, the service-account key and a system:masters admin certificate", () => {
    const { synthesized, cluster } = build();
    expect(synthesized).toHaveResourceWithProperties(SelfSignedCert, {
      is_ca_certificate: true,
      subject: [{ common_name: "k3s-server-ca@test" }],
    });
    for (const ca of ["client-ca", "request-header-ca", "etcd-peer-ca", "etcd-server-ca"]) {
      expect(synthesized).toHaveResourceWithProperties(SelfSignedCert, { subject: [{ common_name: `k3s-${ca}@test` }] });
    }
    expect(synthesized).toHaveResourceWithProperties(PrivateKey, { algorithm: "RSA", rsa_bits: 2048 });
    expect(synthesized).toHaveResourceWithProperties(CertRequest, {
      subject: [{ common_name: "test-terraform-admin", organization: "system:masters" }],
    });
    expect(synthesized).toHaveResourceWithProperties(LocallySignedCert, {
      allowed_uses: ["digital_signature", "key_encipherment", "client_auth"],
    });
    expect(synthesized).toHaveResourceWithProperties(Password, { length: 48, special: false });
    expect(cluster.apiEndpoint).toBe("https://10.0.0.10:6443");
    expect(cluster.serverUserData).toHaveLength(3);
    expect(cluster.agentUserData).toHaveLength(1);
  });

  it("builds a kubeconfig for the API endpoint from the generated certificates", () => {
    const { synthesized } = build();
    expect(synthesized).not.toMatch(/BEGIN/);
    const { cluster } = build();
    expect(cluster.kubeconfig).toMatch(/server: https:\/\/10\.0\.0\.10:6443/);
  });

  it.each<[string, Partial<K3sClusterProps>, RegExp]>([
    [
      "an even number of servers",
      { servers: [node("a", "10.0.0.1"), node("b", "10.0.0.2")] },
      /servers has 2 nodes; embedded etcd needs an odd count/,
    ],
    ["no servers", { servers: [] }, /servers has 0 nodes/],
    ["a repeated address", { agents: [node("t-agent-1", "10.0.0.10")] }, /node addresses are not distinct/],
    ["a bad address", { agents: [node("t-agent-1", "10.0.0.300")] }, /address "10\.0\.0\.300" is not an IPv4 address/],
  ])("rejects %s", (_kind, change, message) => {
    expect(() => build(change)).toThrow(message);
  });
});

describe("K3sCluster join tokens, as k3s checks them", () => {
  // A real CA PEM as the tls provider writes it (openssl's output, trailing newline included).
  const ca = createCa(mkdtempSync(join(tmpdir(), "k3s-ca-")), "k3s-server-ca");
  const caPem = readFileSync(ca.cert, "utf8");
  const secrets: Record<string, string> = { "server-secret": "S3rv3rSecretFromRandom", "agent-secret": "Ag3ntSecretFromRandom" };

  /** Every file each node's cloud-init writes, with Terraform's values filled in. */
  function nodeFiles(): Map<string, Map<string, Buffer>> {
    const stack = testStack();
    new K3sCluster(stack, "k3s", {
      clusterName: "test",
      servers: [node("t-server-1", "10.0.0.10"), node("t-server-2", "10.0.0.11"), node("t-server-3", "10.0.0.12")],
      agents: [node("t-agent-1", "10.0.0.13")],
      ntpServers: ["ntp.test.internal"],
      sshAuthorizedKeys: ["ssh-ed25519 AAAA test"],
    });
    const locals = (JSON.parse(Testing.synth(stack)) as { locals: Record<string, string> }).locals;
    const resolve = (reference: string): string => {
      if (/^tls_self_signed_cert\.k3s_server-ca_cert_[A-F0-9]+\.cert_pem$/.test(reference)) return caPem;
      const secret = /^random_password\.k3s_(server-secret|agent-secret)_[A-F0-9]+\.result$/.exec(reference);
      if (secret) return secrets[secret[1]];
      if (/^(tls_self_signed_cert|tls_private_key)\./.test(reference)) return `pem of ${reference}`;
      throw new Error(`unexpected reference ${reference}`);
    };
    const nodes = new Map<string, Map<string, Buffer>>();
    for (const [name, document] of Object.entries(locals)) {
      const nodeName = /user_data_(t-[a-z]+-\d)/.exec(name)![1];
      const files = writtenFiles(evaluateTemplate(document, resolve)).map(
        (file) => [file.path, Buffer.from(file.content, file.encoding === "b64" ? "base64" : "utf8")] as const,
      );
      nodes.set(nodeName, new Map(files));
    }
    return nodes;
  }

  it("carries the SHA-256 of the exact PEM bytes the first server serves at /cacerts", () => {
    const nodes = nodeFiles();
    // k3s pkg/server/handlers/router.go CACerts: /cacerts answers os.ReadFile(runtime.ServerCA),
    // the server-ca.crt that cloud-init wrote into the tls directory before k3s first started.
    const served = nodes.get("t-server-1")!.get(`${K3S_TLS_DIR}/server-ca.crt`)!;
    expect(served.toString("utf8")).toBe(caPem);
    // k3s pkg/clientaccess/token.go hashCA: a bundle with a single certificate is hashed over
    // the literal bytes of the file (a multi-certificate bundle over the DER of its root).
    const expectedHash = createHash("sha256").update(served).digest("hex");
    const derHash = createHash("sha256").update(new X509Certificate(caPem).raw).digest("hex");
    expect(expectedHash).not.toBe(derHash); // the DER hash the old token used would not match

    for (const [name, user, secret] of [
      ["t-server-2", "server", secrets["server-secret"]],
      ["t-server-3", "server", secrets["server-secret"]],
      ["t-agent-1", "node", secrets["agent-secret"]],
    ]) {
      const token = nodes.get(name)!.get("/etc/rancher/k3s/join-token")!.toString("utf8");
      // token.go parseToken: K10 <64 hex> :: <username>:<password>
      expect([name, token]).toEqual([name, `K10${expectedHash}::${user}:${secret}`]);
      const config = parse(nodes.get(name)!.get("/etc/rancher/k3s/config.yaml")!.toString("utf8")) as Record<string, unknown>;
      expect(config["token-file"]).toBe("/etc/rancher/k3s/join-token");
    }
  });

  it("puts the CA private keys on the cluster-init server only", () => {
    const nodes = nodeFiles();
    // k3s docs/cli/certificate.md: custom CA files are read at the initial startup of the first
    // server; the CA certificates and keys then live in the datastore's bootstrap data.
    const keys = (name: string) => [...nodes.get(name)!.keys()].filter((path) => path.startsWith(K3S_TLS_DIR));
    expect(keys("t-server-1")).toHaveLength(11);
    expect(keys("t-server-2")).toEqual([]);
    expect(keys("t-server-3")).toEqual([]);
    expect(keys("t-agent-1")).toEqual([]);
    for (const [name, files] of nodes) {
      for (const [path, content] of files) {
        if (name !== "t-server-1")
          expect([name, path, /PRIVATE KEY|pem of tls_private_key/.test(content.toString())]).toEqual([name, path, false]);
      }
    }
  });
});
