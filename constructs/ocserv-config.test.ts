import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, issueServerCert } from "../test-support/pki";
import { describeWithTool, requireTool, shellcheck } from "../test-support/tools";
import { OcservConfigError, renderConnectScript, renderOcservConfig, type OcservConfigProps } from "./ocserv-config";

const base: OcservConfigProps = {
  pool: "10.29.0.0/24",
  routes: ["10.20.0.0/24", "10.99.0.0/24"],
  dnsServers: ["10.20.0.2"],
  splitDnsDomains: ["streamstats.internal"],
  users: [
    { name: "alice", group: "ops" },
    { name: "bob", group: "analysts" },
  ],
};

describe("renderOcservConfig", () => {
  const config = renderOcservConfig(base);

  it("listens on TCP and UDP 443 with certificate auth, user from CN and group from OU", () => {
    for (const line of [
      "tcp-port = 443",
      "udp-port = 443",
      'auth = "certificate"',
      "cert-user-oid = 2.5.4.3",
      "cert-group-oid = 2.5.4.11",
      "cisco-client-compat = true",
      "dtls-legacy = true",
    ]) {
      expect(config.split("\n")).toContain(line);
    }
  });

  it("pushes only the platform routes, DNS and split DNS, and the pool", () => {
    const routes = config.split("\n").filter((line) => line.startsWith("route"));
    expect(routes).toEqual(["route = 10.20.0.0/255.255.255.0", "route = 10.99.0.0/255.255.255.0"]);
    expect(config).toContain("ipv4-network = 10.29.0.0\nipv4-netmask = 255.255.255.0");
    expect(config).toContain("dns = 10.20.0.2\nsplit-dns = streamstats.internal");
  });

  it("hardens: isolated workers, strict TLS priorities, no compression, limits", () => {
    expect(config).toMatch(/^isolate-workers = true$/m);
    expect(config).toMatch(/^tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-RSA:-VERS-SSL3\.0:-VERS-TLS1\.0:-VERS-TLS1\.1/m);
    expect(config).toMatch(/^compression = false$/m);
    expect(config).toMatch(/^max-clients = 128$/m);
    expect(config).toMatch(/^max-same-clients = 2$/m);
    expect(config).toMatch(/^rate-limit-ms = 100$/m);
    expect(config).toMatch(/^idle-timeout = 1200$/m);
    expect(config).toMatch(/^mobile-idle-timeout = 2400$/m);
  });

  it("adds RADIUS or a password file as a second factor (ANDed auth lines)", () => {
    expect(renderOcservConfig({ ...base, secondFactor: { kind: "radius", radiusConfig: "/etc/radcli/radiusclient.conf" } })).toContain(
      'auth = "certificate"\nauth = "radius[config=/etc/radcli/radiusclient.conf,groupconfig=true]"',
    );
    expect(renderOcservConfig({ ...base, secondFactor: { kind: "password", passwordFile: "/etc/ocserv/ocpasswd" } })).toContain(
      'auth = "plain[passwd=/etc/ocserv/ocpasswd]"',
    );
  });

  it("emits camouflage only for an ocserv that knows it", () => {
    expect(renderOcservConfig({ ...base, ocservVersion: "1.2.4", camouflage: { secret: "s3cr3t-path", realm: "Welcome" } })).toMatch(
      /^camouflage = true$/m,
    );
    expect(config).not.toMatch(/camouflage/);
  });

  it.each<[string, Partial<OcservConfigProps>, RegExp]>([
    ["an invalid CIDR", { routes: ["10.20.0.0/40"] }, /routes\[0\]: "10\.20\.0\.0\/40" is not an IPv4 CIDR/],
    [
      "overlapping routes",
      { routes: ["10.20.0.0/16", "10.20.5.0/24"] },
      /routes\[1\]: "10\.20\.5\.0\/24" overlaps routes\[0\] "10\.20\.0\.0\/16"/,
    ],
    ["a pool overlapping a routed net", { pool: "10.20.0.0/25" }, /pool: "10\.20\.0\.0\/25" overlaps routes\[0\] "10\.20\.0\.0\/24"/],
    [
      "a default route with split tunnel",
      { defaultRoute: true },
      /defaultRoute: a default route cannot be combined with split-tunnel routes/,
    ],
    ["an empty user list with certificate auth", { users: [] }, /users: is empty; certificate authentication would admit nobody/],
    [
      "camouflage on ocserv 1.1.6",
      { camouflage: { secret: "x", realm: "y" } },
      /camouflage: needs ocserv 1\.2 or later; ocservVersion is 1\.1\.6/,
    ],
    ["a bad DNS server", { dnsServers: ["dns.example"] }, /dnsServers\[0\]: "dns\.example" is not an IPv4 address/],
  ])("rejects %s with a named error", (_kind, change, message) => {
    expect(() => renderOcservConfig({ ...base, ...change })).toThrow(OcservConfigError);
    expect(() => renderOcservConfig({ ...base, ...change })).toThrow(message);
  });
});

const ocserv = requireTool("ocserv", "apt-get install ocserv");
describeWithTool(ocserv)("real ocserv --test-config", () => {
  const dir = mkdtempSync(join(tmpdir(), "ocserv-conf-"));
  const ca = createCa(join(dir, "ca"), "client-ca");
  const server = issueServerCert(join(dir, "server"), "10.200.0.2");
  const paths = {
    serverCert: server.cert,
    serverKey: server.key,
    clientCa: ca.cert,
    connectScript: join(dir, "connect"),
    allowedUsers: join(dir, "allowed"),
  };
  writeFileSync(paths.connectScript, renderConnectScript(paths.allowedUsers), { mode: 0o755 });
  writeFileSync(join(dir, "radiusclient.conf"), "");

  const testConfig = (props: OcservConfigProps) => {
    const file = join(dir, `ocserv-${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(file, renderOcservConfig({ ...props, paths }));
    const run = spawnSync(ocserv!, ["--test-config", "-c", file], { encoding: "utf8" });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  };

  it.each<[string, OcservConfigProps]>([
    ["default", base],
    ["RADIUS 2FA", { ...base, secondFactor: { kind: "radius", radiusConfig: join(dir, "radiusclient.conf") } }],
    ["password 2FA", { ...base, secondFactor: { kind: "password", passwordFile: join(dir, "ocpasswd") } }],
    ["minimal", { pool: "192.168.77.0/24", routes: ["10.20.0.0/24"], dnsServers: [], users: [{ name: "ops", group: "ops" }] }],
  ])("accepts the %s config", (_name, props) => {
    const result = testConfig(props);
    expect(result.output).not.toMatch(/skipping unknown option/i);
    expect(result.status).toBe(0);
  });

  it("would reject a broken config (the check can fail)", () => {
    const file = join(dir, "broken.conf");
    writeFileSync(file, renderOcservConfig({ ...base, paths }).replace("tcp-port = 443", "tcp-port = not-a-port"));
    expect(spawnSync(ocserv!, ["--test-config", "-c", file]).status).not.toBe(0);
  });
});

const shellcheckPath = requireTool("shellcheck", "apt-get install shellcheck");
describeWithTool(shellcheckPath)("the connect script", () => {
  it("passes shellcheck", () => {
    expect(shellcheck(shellcheckPath!, renderConnectScript())).toMatchObject({ status: 0, output: "" });
  });
});
