import { DataHttp } from "@cdktf/provider-http/lib/data-http";
import { Testing, TerraformVariable } from "cdktf";
import { testStack } from "../test-support/stack";
import { ApiReadinessGate, type ApiReadinessGateProps } from "./api-readiness-gate";

function build(change: Partial<ApiReadinessGateProps> = {}) {
  const stack = testStack();
  const vm = new TerraformVariable(stack, "vm", { type: "string" });
  const gate = new ApiReadinessGate(stack, "gate", {
    access: { host: "https://10.0.0.10:6443", clusterCaCertificate: "ca", clientCertificate: "cert", clientKey: "key" },
    after: [vm],
    ...change,
  });
  return { gate, synthesized: Testing.synth(stack) };
}

describe("ApiReadinessGate", () => {
  it("polls /readyz with the cluster CA and the admin certificate, with bounded retries", () => {
    const { synthesized, gate } = build();
    expect(synthesized).toHaveDataSourceWithProperties(DataHttp, {
      url: "https://10.0.0.10:6443/readyz",
      ca_cert_pem: "ca",
      client_cert_pem: "cert",
      client_key_pem: "key",
      retry: { attempts: 90, min_delay_ms: 5000, max_delay_ms: 10000 },
      depends_on: ["var.vm"],
    });
    expect(gate.readyEndpoint).toMatch(/^\$\{TfToken\[/);
  });

  it.each<[string, Partial<ApiReadinessGateProps>, RegExp]>([
    ["no dependency", { after: [] }, /after is empty/],
    ["zero attempts", { attempts: 0 }, /attempts 0 must be a whole number from 1 to 1000/],
    ["a tiny delay", { maxDelayMs: 10 }, /maxDelayMs 10 must be a whole number of at least 1000/],
  ])("rejects %s", (_kind, change, message) => {
    expect(() => build(change)).toThrow(message);
  });
});
