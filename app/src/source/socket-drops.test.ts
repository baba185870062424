/**
 * The kernel's drops for the collector's port reach /metrics: a real collector with a small
 * receive buffer, a sender in another process, and this thread (the receiving one) held off
 * the CPU while it sends. On loopback nothing else loses datagrams, so every datagram sent is
 * either received or counted as a kernel drop. The drops column is the last of /proc/net/udp
 * (Linux net/ipv4/udp.c udp4_format_sock and net/ipv6/datagram.c __ip6_dgram_sock_seq_show print sk_drops there).
 */
import { spawn } from "node:child_process";
import { startCollector, waitFor } from "../../../test-support/collector/collector-harness";
import { udpReceiveDrops } from "./socket-drops";

const DATAGRAMS = 3_000;

const SENDER = `
const socket = require("node:dgram").createSocket("udp4");
const payload = Buffer.from('{"v":0}');
let sent = 0;
process.stdin.once("data", () => {
  const next = () => {
    for (let i = 0; i < 100 && sent < ${DATAGRAMS}; i++, sent++) socket.send(payload, Number(process.argv[1]), "127.0.0.1");
    if (sent < ${DATAGRAMS}) setImmediate(next); else setTimeout(() => { process.stdout.write("done"); socket.close(); process.exit(0); }, 200);
  };
  next();
});
`;

describe("kernel receive drops", () => {
  it("are exported as collector_udp_receive_drops_total and, with what was received, account for every datagram sent", async () => {
    const collector = await startCollector({ recvBufferBytes: 4096 });
    try {
      const before = udpReceiveDrops(collector.udpPort);
      expect(before).toBe(0);
      const sender = spawn(process.execPath, ["-e", SENDER, String(collector.udpPort)], { stdio: ["pipe", "pipe", "inherit"] });
      const finished = new Promise<void>((resolve) => sender.stdout.once("data", () => resolve()));
      sender.stdin.end("go\n");
      // Hold the receiving thread while the sender fills the 4 KiB buffer.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_500);
      await finished;
      await new Promise((resolve) => (sender.exitCode === null ? sender.once("exit", resolve) : resolve(undefined)));
      const drops = udpReceiveDrops(collector.udpPort)!;
      expect(drops).toBeGreaterThan(0);
      await waitFor(() => collector.stats.datagrams + drops === DATAGRAMS, 5_000, "every datagram to be received or dropped");
      const metrics = await (await fetch(`http://127.0.0.1:${collector.httpPort}/metrics`)).text();
      expect(metrics).toContain(`collector_udp_receive_drops_total ${drops}\n`);
    } finally {
      await collector.stop();
    }
  }, 30_000);

  it("reads nothing where the tables do not exist", () => {
    expect(udpReceiveDrops(8125, ["/nonexistent/udp"])).toBeUndefined();
  });
});
