import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { Password } from "@cdktf/provider-random/lib/password";
import { Testing } from "cdktf";
import { testStack } from "../test-support/stack";
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
