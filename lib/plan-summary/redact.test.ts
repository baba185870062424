import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { analyseImpact } from "./impact";
import { decodeText, redactText } from "./redact";
import { renderImpact } from "./render-impact";
import { readSynthOutput } from "./synth-output";

/** fixtures/redaction: one planted secret per rule, in a before/after pair where each changes. */
const fixtures = join(__dirname, "fixtures", "redaction");
const impact = analyseImpact(readSynthOutput(join(fixtures, "before")), readSynthOutput(join(fixtures, "after")));
const { full } = renderImpact(impact, { against: "before" });
const readSynthOutputText = () => readFileSync(join(fixtures, "after", "stacks", "secrets-x", "cdk.tf.json"), "utf8").replace(/\\n/g, "\n");

describe("plan summary redaction (hand-checked fixture)", () => {
  it.each<[string, RegExp]>([
    ["a PEM private key in a resource argument", /PlantedPem|MHcCAQEE|BEGIN EC PRIVATE KEY/],
    ["an OpenSSH private key in a local", /PlantedOpenSsh|b3BlbnNzaC1rZXkt|BEGIN OPENSSH/],
    ["an attribute named password", /PlantedPassword/],
    ["a sensitive output", /PlantedOutputSecret/],
    ["a password line inside Helm values", /PlantedHelmPassword/],
    ["a base64 join token inside user-data", /PlantedJoinSecret|SzEwYWJh/],
    ["a secret inside gzip+base64 metadata, once decoded", /PlantedGzipSecret/],
    ["a generated password-like literal", /Xy7kQ2pL9mN4vB8cR1tZ6wE3sD5fG0hJ/],
  ])("never shows %s", (_rule, planted) => {
    expect(full).not.toMatch(planted);
  });

  it("still shows what changed around the secrets, and says what was redacted", () => {
    expect(full).toContain("- `data.tls.key`: changes (only in redacted parts)");
    expect(full).toContain("- `local.deploy_key` edited: changes (only in redacted parts)");
    expect(redactText(readSynthOutputText())).toContain("(redacted PEM ec private key)");
    expect(redactText(readSynthOutputText())).toContain("(redacted OpenSSH private key)");
    expect(full).toMatch(/-replicaCount: 2\n\+replicaCount: 3/);
    expect(full).toMatch(/-note: B\n\+note: A/); // the decoded metadata's harmless line
    expect(full).toMatch(/\+\s+content: release A/);
    expect(full).toContain("`output.kubeconfig` edited: (sensitive)");
  });
});

describe("redactText and decodeText", () => {
  it("keeps paths, URLs, hashes and Terraform expressions, which are not secrets", () => {
    const text =
      "token-file: /etc/rancher/k3s/join-token\nurl: https://raw.githubusercontent.com/k3s-io/k3s/v1.33.5%2Bk3s1/install.sh\nsha: " +
      "a1".repeat(32) +
      "\npassword: ${random_password.x.result}\n";
    expect(redactText(text)).toBe(text);
  });

  it("decodes base64 and gzip+base64 text, and refuses binary", () => {
    expect(decodeText(Buffer.from("#cloud-config\nntp: {}\n").toString("base64"))).toBe("#cloud-config\nntp: {}\n");
    expect(decodeText(gzipSync(Buffer.from("instance-id: x\n")).toString("base64"))).toBe("instance-id: x\n");
    expect(decodeText(Buffer.from([0, 1, 2, 255, 254, 253, 128, 129, 130, 131, 132, 133]).toString("base64"))).toBeUndefined();
  });
});
