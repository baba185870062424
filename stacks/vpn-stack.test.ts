import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { OCSERV_PATHS } from "../constructs/ocserv-config";
import { embeddedScripts, withSampleValues, writtenFiles } from "../test-support/cloud-config";
import { createCa, issueServerCert } from "../test-support/pki";
import { resourcesOfType, synthBranch } from "../test-support/synth";
import { cloudInitSchema, describeWithTool, requireTool, shellcheck } from "../test-support/tools";

const tiers = ["main", "staging"].map((branch) => {
  const result = synthBranch(branch);
  const stack = result.stacks.get(`vpn-${result.environment.slug}`)!;
  const userData = Object.entries((stack.locals ?? {}) as Record<string, string>).find(([name]) => name.includes("user_data"))![1];
  return { branch, result, stack, userData, files: writtenFiles(withSampleValues(userData)) };
});
const fileContent = (files: ReturnType<typeof writtenFiles>, path: string) => files.find((file) => file.path === path)?.content ?? "";

describe.each(tiers)("vpn stack for $branch", ({ stack, userData, files, result }) => {
  const tier = result.environment.tier === "production" ? result.site.tiers.production : result.site.tiers.staging;

  it("puts the gateway on the external and the platform network", () => {
    const [, vm] = resourcesOfType(stack, "vsphere_virtual_machine")[0];
    expect((vm.network_interface as unknown[]).length).toBe(2);
    const metadata = String(vm.annotation);
    expect(metadata).toContain(tier.vpn.externalAddress.split("/")[0]);
  });

  it("installs ocserv and nftables and writes config, certificates, client CA and allowlist", () => {
    const document = parse(withSampleValues(userData)) as { packages: string[]; runcmd: string[][] };
    expect(document.packages).toEqual(expect.arrayContaining(["ocserv", "nftables"]));
    for (const path of Object.values(OCSERV_PATHS)) expect(files.map((file) => file.path)).toContain(path);
    expect(files.find((file) => file.path === OCSERV_PATHS.serverKey)?.permissions).toBe("0600");
    expect(fileContent(files, OCSERV_PATHS.allowedUsers)).toBe(result.site.vpn.users.map((user) => user.name).join("\n") + "\n");
    expect(fileContent(files, "/etc/sysctl.d/90-vpn-forwarding.conf")).toBe("net.ipv4.ip_forward = 1\n");
    expect(document.runcmd).toContainEqual(["systemctl", "restart", "ocserv"]);
  });

  it("forwards only from the VPN pool to the routed platform network", () => {
    const firewall = fileContent(files, "/etc/nftables.conf");
    expect(firewall).toContain("type filter hook forward priority filter; policy drop;");
    expect(firewall).toContain(`ip saddr ${tier.vpn.pool} ip daddr { ${tier.network.cidr} } accept`);
    expect(firewall.match(/ accept$/gm)!.length).toBeGreaterThan(0);
  });

  it("issues one certificate per user with the group as OU, and outputs keys only as sensitive", () => {
    const requests = resourcesOfType(stack, "tls_cert_request").map(([, body]) => (body.subject as Array<Record<string, string>>)[0]);
    expect(requests).toEqual(
      result.site.vpn.users.map((user) => ({ common_name: user.name, organization: "streamstats VPN", organizational_unit: user.group })),
    );
    const outputs = stack.output as Record<string, { sensitive?: boolean }>;
    for (const user of result.site.vpn.users) {
      expect(outputs[`user_${user.name}_key_pem`].sensitive).toBe(true);
      expect(outputs[`user_${user.name}_cert_pem`].sensitive).toBe(true);
    }
  });
});

const cloudInit = requireTool("cloud-init", "apt-get install cloud-init");
describeWithTool(cloudInit)("the VPN gateway's cloud-init passes the real cloud-init schema", () => {
  it.each(tiers)("$branch", ({ userData }) => {
    expect(cloudInitSchema(cloudInit!, withSampleValues(userData))).toMatchObject({ status: 0 });
  });
});

const shellcheckPath = requireTool("shellcheck", "apt-get install shellcheck");
describeWithTool(shellcheckPath)("the VPN gateway's scripts pass shellcheck", () => {
  it.each(tiers)("$branch", ({ userData }) => {
    const scripts = embeddedScripts(withSampleValues(userData));
    expect(scripts.map((script) => script.path)).toEqual([OCSERV_PATHS.connectScript]);
    for (const script of scripts) expect(shellcheck(shellcheckPath!, script.content)).toMatchObject({ status: 0, output: "" });
  });
});

const ocserv = requireTool("ocserv", "apt-get install ocserv");
describeWithTool(ocserv)("the ocserv.conf the stack writes passes the real ocserv --test-config", () => {
  it.each(tiers)("$branch", ({ files }) => {
    const dir = mkdtempSync(join(tmpdir(), "vpn-stack-"));
    const ca = createCa(join(dir, "ca"), "ca");
    const server = issueServerCert(join(dir, "server"), "198.51.100.10");
    // Same config, with the certificate paths pointing at real files for the check.
    const config = fileContent(files, OCSERV_PATHS.config)
      .replace(OCSERV_PATHS.serverCert, server.cert)
      .replace(OCSERV_PATHS.serverKey, server.key)
      .replace(OCSERV_PATHS.clientCa, ca.cert);
    writeFileSync(join(dir, "ocserv.conf"), config);
    const run = spawnSync(ocserv!, ["--test-config", "-c", join(dir, "ocserv.conf")], { encoding: "utf8" });
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/skipping unknown option/);
    expect(run.status).toBe(0);
  });
});

describe("an operator-supplied gateway certificate", () => {
  it("comes from variables (the key sensitive) instead of the tls provider", async () => {
    const { siteInput } = await import("../test-support/synth");
    const input = siteInput();
    const result = synthBranch("main", { ...input, vpn: { ...input.vpn, serverCertificate: "operator" } });
    const stack = result.stacks.get("vpn-main")!;
    expect(stack.variable).toMatchObject({
      vpn_server_cert_pem: { type: "string" },
      vpn_server_key_pem: { type: "string", sensitive: true },
    });
    expect(stack.variable?.vpn_server_cert_pem.sensitive).toBeUndefined();
    // Only the client CA is self-signed now.
    expect(resourcesOfType(stack, "tls_self_signed_cert")).toHaveLength(1);
    const userData = Object.entries((stack.locals ?? {}) as Record<string, string>).find(([name]) => name.includes("user_data"))![1];
    expect(userData).toContain("${base64encode(var.vpn_server_key_pem)}");
  });
});

describe("user certificates follow the shared profile", () => {
  it("takes key type, usages and validity from VPN_CLIENT_CERT_PROFILE", async () => {
    const { VPN_CLIENT_CERT_PROFILE } = await import("../constructs/vpn-client-profile");
    const stack = synthBranch("main").stacks.get("vpn-main")!;
    for (const [, cert] of resourcesOfType(stack, "tls_locally_signed_cert")) {
      expect(cert).toMatchObject({
        allowed_uses: [...VPN_CLIENT_CERT_PROFILE.keyUsage, VPN_CLIENT_CERT_PROFILE.extendedKeyUsage],
        validity_period_hours: VPN_CLIENT_CERT_PROFILE.validityHours,
        early_renewal_hours: VPN_CLIENT_CERT_PROFILE.earlyRenewalHours,
      });
    }
    const keys = resourcesOfType(stack, "tls_private_key").map(([, key]) => key);
    expect(
      keys.every((key) => key.algorithm === VPN_CLIENT_CERT_PROFILE.keyAlgorithm && key.ecdsa_curve === VPN_CLIENT_CERT_PROFILE.ecdsaCurve),
    ).toBe(true);
  });
});
