/**
 * End to end: a real ocserv with a config rendered by the construct, real openconnect clients
 * with certificates from the stack's profile, in three network namespaces this test creates
 * (client, gateway, platform) and always removes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderAllowedUsers, renderConnectScript, renderOcservConfig } from "../../constructs/ocserv-config";
import { renderVpnFirewall } from "../../constructs/vpn-gateway";
import { createCa, issueClientCert, issueServerCert, type IssuedCert } from "../../test-support/pki";
import { describeWithTool, requireRoot, requireTool } from "../../test-support/tools";
import { NetnsLab } from "../../test-support/netns";

const ocserv = requireTool("ocserv", "apt-get install ocserv");
const openconnect = requireTool("openconnect", "apt-get install openconnect");
const ip = requireTool("ip", "apt-get install iproute2");
const nft = requireTool("nft", "apt-get install nftables");
const isRoot = requireRoot("the VPN end-to-end test", "for network namespaces");

const GATEWAY_EXTERNAL = "10.200.0.2";
const GATEWAY_PLATFORM = "10.201.0.1";
const PLATFORM_SERVICE = "10.201.0.2";
/** An address of the tier's MetalLB range inside the routed platform network, as the API's Service gets. */
const LOAD_BALANCER_ADDRESS = "10.201.0.200";
const POOL = "10.202.0.0/24";
const ROUTED = "10.201.0.0/24";
const VPNC_SCRIPT = "/usr/share/vpnc-scripts/vpnc-script";
/** Records what the server pushed (split routes, DNS) before handing over to vpnc-script. */
const recordingScript = (file: string) => `#!/bin/sh
if [ "$reason" = "connect" ]; then env | grep -E '^(CISCO_SPLIT_INC|CISCO_SPLIT_DNS|INTERNAL_IP4_)' | sort > '${file}'; fi
exec ${VPNC_SCRIPT}
`;

describeWithTool(ocserv && openconnect && ip && nft && isRoot ? "yes" : undefined)(
  "VPN end to end (ocserv + openconnect in namespaces)",
  () => {
    const prefix = `ssv${process.pid}`;
    const lab = new NetnsLab(prefix);
    const dir = mkdtempSync(join(tmpdir(), "vpn-e2e-"));
    // ocserv's workers run as nobody and must reach the sec-mod socket inside this directory.
    chmodSync(dir, 0o755);
    let client: string;
    let gateway: string;
    let platform: string;
    let server: IssuedCert & { pin: string };
    let alice: IssuedCert;
    let bob: IssuedCert;
    let expired: IssuedCert;
    let foreign: IssuedCert;
    const processes: ChildProcess[] = [];
    let ocservLog = "";

    const inNs = (ns: string, command: string[], timeoutMs = 10_000) => {
      const run = spawnSync("ip", ["netns", "exec", ns, ...command], { encoding: "utf8", timeout: timeoutMs });
      return { status: run.status, output: `${run.stdout ?? ""}${run.stderr ?? ""}` };
    };
    /** An HTTP GET from the client namespace to a platform address. */
    const fetchPlatform = (address = PLATFORM_SERVICE) =>
      inNs(
        client,
        [
          process.execPath,
          "-e",
          `fetch("http://${address}:8080/").then(r => r.text()).then(t => { console.log(t); }, e => { console.log("FAILED " + (e.cause?.code ?? e.message)); process.exit(3); })`,
        ],
        15_000,
      );

    beforeAll(async () => {
      client = lab.addNamespace("client");
      gateway = lab.addNamespace("gw");
      platform = lab.addNamespace("plat");
      lab.link(
        { ns: client, ifname: `${prefix}c`, address: "10.200.0.1/24" },
        { ns: gateway, ifname: `${prefix}g`, address: `${GATEWAY_EXTERNAL}/24` },
      );
      lab.link(
        { ns: gateway, ifname: `${prefix}p`, address: `${GATEWAY_PLATFORM}/24` },
        { ns: platform, ifname: `${prefix}q`, address: `${PLATFORM_SERVICE}/24` },
      );
      // MetalLB in L2 mode answers ARP for the Service's address on the platform network.
      lab.exec(platform, ["ip", "addr", "add", `${LOAD_BALANCER_ADDRESS}/32`, "dev", `${prefix}q`]);
      lab.exec(gateway, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      // The gateway's own firewall, as rendered for its VM: it forwards the pool to the routed
      // network and masquerades it there, so the platform needs no route back to the pool.
      const firewall = join(dir, "nftables.conf");
      writeFileSync(
        firewall,
        renderVpnFirewall({ pool: POOL, routes: [ROUTED], sshFrom: [], external: `${prefix}g`, platform: `${prefix}p` }),
      );
      lab.exec(gateway, [nft!, "-f", firewall]);

      const ca = createCa(join(dir, "ca"), "vpn-client-ca");
      const otherCa = createCa(join(dir, "other-ca"), "someone-elses-ca");
      server = issueServerCert(join(dir, "server"), GATEWAY_EXTERNAL);
      alice = issueClientCert(ca, { name: "alice", group: "ops" });
      bob = issueClientCert(ca, { name: "bob", group: "analysts" });
      expired = issueClientCert(ca, { name: "alice", group: "ops" }, { expired: true });
      foreign = issueClientCert(otherCa, { name: "alice", group: "ops" });

      const paths = {
        serverCert: server.cert,
        serverKey: server.key,
        clientCa: ca.cert,
        allowedUsers: join(dir, "allowed-users"),
        connectScript: join(dir, "connect-allowed"),
      };
      // bob was removed from the site config: his certificate is still valid, his name is not listed.
      const users = [{ name: "alice", group: "ops" }];
      writeFileSync(paths.allowedUsers, renderAllowedUsers(users));
      writeFileSync(paths.connectScript, renderConnectScript(paths.allowedUsers));
      chmodSync(paths.connectScript, 0o755);
      writeFileSync(join(dir, "vpnc-recording"), recordingScript(join(dir, "pushed.env")));
      chmodSync(join(dir, "vpnc-recording"), 0o755);
      const config = join(dir, "ocserv.conf");
      writeFileSync(
        config,
        renderOcservConfig({
          pool: POOL,
          routes: [ROUTED],
          dnsServers: [PLATFORM_SERVICE],
          splitDnsDomains: ["platform.test"],
          users,
          paths,
          socketFile: join(dir, "ocserv.sock"),
          pidFile: join(dir, "ocserv.pid"),
        }),
      );

      /** A small HTTP server in the platform namespace; `reply` is the JS expression it answers with. */
      const serve = (address: string, reply: string) =>
        processes.push(
          spawn(
            "ip",
            [
              "netns",
              "exec",
              platform,
              process.execPath,
              "-e",
              `require("http").createServer((q, s) => s.end(${reply})).listen(8080, "${address}")`,
            ],
            { stdio: "ignore" },
          ),
        );
      serve(PLATFORM_SERVICE, '"platform-ok"');
      // Stands in for the collector's API behind its LoadBalancer Service: it reports the source
      // address it sees, which is what the NetworkPolicy and loadBalancerSourceRanges must admit.
      serve(LOAD_BALANCER_ADDRESS, '"api saw " + q.socket.remoteAddress');
      const daemon = spawn("ip", ["netns", "exec", gateway, ocserv!, "--foreground", "--debug", "1", "-c", config], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      daemon.stdout!.on("data", (chunk: Buffer) => (ocservLog += chunk.toString()));
      daemon.stderr!.on("data", (chunk: Buffer) => (ocservLog += chunk.toString()));
      processes.push(daemon);
      const deadline = Date.now() + 15_000;
      while (!/listening \(TCP\)/i.test(ocservLog) || !/listening \(UDP\)/i.test(ocservLog)) {
        if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`ocserv did not start:\n${ocservLog}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }, 60_000);

    afterAll(() => {
      for (const child of processes) {
        child.kill("SIGKILL");
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
      lab.cleanup();
      expect(NetnsLab.existing(prefix)).toEqual([]);
    });

    /** Runs openconnect in the client namespace until it is connected (or fails). */
    async function connect(
      certificate: IssuedCert,
      timeoutMs = 20_000,
    ): Promise<{ child: ChildProcess; output: () => string; connected: boolean; exitCode: number | null }> {
      let output = "";
      const child = spawn(
        "ip",
        [
          "netns",
          "exec",
          client,
          openconnect!,
          "--protocol=anyconnect",
          "--non-inter",
          "--certificate",
          certificate.cert,
          "--sslkey",
          certificate.key,
          "--servercert",
          server.pin,
          "--script",
          join(dir, "vpnc-recording"),
          "--interface",
          "tunvpn0",
          `https://${GATEWAY_EXTERNAL}:443/`,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      processes.push(child);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && child.exitCode === null) {
        if (
          /DTLS connected|Established DTLS connection/.test(output) &&
          inNs(client, ["ip", "-4", "route", "show", "dev", "tunvpn0"]).status === 0
        ) {
          return { child, output: () => output, connected: true, exitCode: null };
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (child.exitCode === null) child.kill("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { child, output: () => output, connected: false, exitCode: child.exitCode };
    }

    async function disconnect(child: ChildProcess): Promise<void> {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }

    it("cannot reach the platform service without the tunnel", () => {
      const result = fetchPlatform();
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/FAILED (ENETUNREACH|EHOSTUNREACH|ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)/);
    });

    it("brings the tunnel up with DTLS, reaches the platform through it and gets only the configured routes", async () => {
      const session = await connect(alice);
      try {
        expect({
          connected: session.connected,
          output: session.connected ? "" : `${session.output()}\n--- ocserv ---\n${ocservLog}`,
        }).toEqual({ connected: true, output: "" });
        expect(session.output()).toMatch(/DTLS connected|Established DTLS connection/);
        // (b) the platform service answers through the tunnel
        expect(fetchPlatform()).toMatchObject({ status: 0, output: "platform-ok\n" });
        // (c) the server pushed exactly the configured split-tunnel route, DNS and split DNS
        const pushed = readFileSync(join(dir, "pushed.env"), "utf8");
        expect(pushed).toMatch(/^CISCO_SPLIT_INC=1$/m);
        expect(pushed).toMatch(/^CISCO_SPLIT_INC_0_ADDR=10\.201\.0\.0$/m);
        expect(pushed).toMatch(/^CISCO_SPLIT_INC_0_MASK=255\.255\.255\.0$/m);
        expect(pushed).not.toMatch(/^CISCO_SPLIT_INC_1_/m);
        expect(pushed).toMatch(/^INTERNAL_IP4_DNS=10\.201\.0\.2$/m);
        expect(pushed).toMatch(/^CISCO_SPLIT_DNS=platform\.test$/m);
        // …and the client routes only that network (plus the tunnel's own pool) through the VPN.
        const routes = inNs(client, ["ip", "-4", "route", "show", "dev", "tunvpn0"])
          .output.split("\n")
          .map((line) => line.trim().split(" ")[0])
          .filter(Boolean);
        expect(routes.sort()).toEqual([ROUTED, POOL].sort());
        expect(inNs(client, ["ip", "-4", "route", "show", "default"]).output).not.toMatch(/tunvpn0/);
        const address = inNs(client, ["ip", "-4", "-o", "addr", "show", "dev", "tunvpn0"]).output;
        expect(address).toMatch(/inet 10\.202\.0\.\d+/);
      } finally {
        await disconnect(session.child);
      }
    }, 60_000);

    it("reaches the API on a load-balancer address, which sees the gateway's platform address", async () => {
      const session = await connect(alice);
      try {
        expect(session.connected).toBe(true);
        // Masqueraded by the gateway's real nftables rules: not the client's pool address.
        expect(fetchPlatform(LOAD_BALANCER_ADDRESS)).toMatchObject({ status: 0, output: `api saw ${GATEWAY_PLATFORM}\n` });
      } finally {
        await disconnect(session.child);
      }
    }, 60_000);

    it.each<[string, () => IssuedCert, RegExp]>([
      [
        "a certificate from another CA",
        () => foreign,
        /Error in the certificate[\s\S]*|SSL connection failure[\s\S]*Error in the certificate/,
      ],
      ["an expired certificate", () => expired, /Client certificate has expired[\s\S]*Error in the certificate/],
      // Authenticated by its (valid) certificate, then refused by the allowlist at session start.
      [
        "the certificate of a user removed from the site config",
        () => bob,
        /initiating session for user 'bob'[\s\S]*failed cookie authentication/,
      ],
    ])(
      "refuses %s",
      async (...row) => {
        const [, certificate, reason] = row;
        const logBefore = ocservLog.length;
        const session = await connect(certificate(), 15_000);
        await disconnect(session.child);
        expect(session.connected).toBe(false);
        expect(`${session.output()}\n${ocservLog.slice(logBefore)}`).toMatch(reason);
        expect(inNs(client, ["ip", "link", "show", "tunvpn0"]).status).not.toBe(0);
      },
      60_000,
    );

    it("admits the removed user again once listed: the allowlist, nothing else, refused him", async () => {
      writeFileSync(
        join(dir, "allowed-users"),
        renderAllowedUsers([
          { name: "alice", group: "ops" },
          { name: "bob", group: "analysts" },
        ]),
      );
      const session = await connect(bob);
      try {
        expect(session.connected).toBe(true);
      } finally {
        await disconnect(session.child);
        writeFileSync(join(dir, "allowed-users"), renderAllowedUsers([{ name: "alice", group: "ops" }]));
      }
    }, 60_000);
  },
);
