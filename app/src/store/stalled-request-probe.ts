/**
 * Run inside a fresh network namespace (the test does that): an HTTP request whose body is
 * stuck in the kernel because nftables drops every packet to the server, destroyed by the
 * client, then the network heals. Prints what the server received afterwards, as JSON.
 *
 *   stalled-request-probe default|resetting
 */
import { execFileSync } from "node:child_process";
import { Agent, request } from "node:http";
import { createServer, type Socket } from "node:net";
import { resettingAgent } from "./resetting-agent";

const PORT = 7000;
const BODY_BYTES = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nft = (script: string) => execFileSync("nft", ["-f", "-"], { input: script });

async function main(): Promise<void> {
  const agent = process.argv[2] === "resetting" ? resettingAgent(`http://127.0.0.1:${PORT}`) : new Agent({ keepAlive: true });
  let bytes = 0;
  let ending = "none";
  let accepted: Socket | undefined;
  const server = createServer((socket) => {
    accepted = socket;
    socket.on("data", (chunk: Buffer) => (bytes += chunk.length));
    socket.on("end", () => (ending = "end"));
    socket.on("error", (error: NodeJS.ErrnoException) => (ending = error.code ?? error.message));
  });
  await new Promise<void>((resolve) => server.listen(PORT, "127.0.0.1", resolve));
  const outgoing = request({ host: "127.0.0.1", port: PORT, method: "POST", agent, headers: { "content-length": BODY_BYTES } });
  outgoing.on("error", () => undefined);
  await new Promise((resolve) => outgoing.once("socket", (socket: Socket) => socket.once("connect", resolve)));
  while (!accepted) await sleep(10);
  nft(`table inet stall {
  chain out {
    type filter hook output priority 0; policy accept;
    tcp dport ${PORT} drop
  }
}
`);
  outgoing.write(Buffer.alloc(BODY_BYTES, 0x61));
  await sleep(300);
  outgoing.destroy();
  await sleep(100);
  nft("delete table inet stall\n");
  // Loopback's retransmission timeout starts at 200 ms and doubles: 3 s covers several tries.
  await sleep(3_000);
  console.log(JSON.stringify({ bytes, ending }));
  server.close();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
