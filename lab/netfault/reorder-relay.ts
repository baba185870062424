/**
 * A UDP relay that reorders, for the network-fault test: nftables can drop and duplicate but
 * not reorder. It holds up to `depth` datagrams and forwards a random one of them whenever the
 * hold is full (and all of them, shuffled, once the sender pauses). Every datagram it received
 * is written to `record` (one base64 line each) when it gets SIGTERM, with a JSON summary on stdout.
 *
 *   reorder-relay <listenHost> <listenPort> <forwardHost> <forwardPort> <depth> <record>
 */
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";

const [listenHost, listenPort, forwardHost, forwardPort, depthText, record] = process.argv.slice(2);
const depth = Number(depthText);
if (!record || !Number.isInteger(depth) || depth < 1) {
  console.error("usage: reorder-relay <listenHost> <listenPort> <forwardHost> <forwardPort> <depth> <record>");
  process.exit(2);
}

const inbound = createSocket({ type: "udp4", recvBufferSize: 8 * 1024 * 1024 });
const outbound = createSocket("udp4");
const received: Buffer[] = [];
const held: Array<{ payload: Buffer; arrival: number }> = [];
let forwarded = 0;
let displaced = 0;
let idle: NodeJS.Timeout | undefined;

function release(index: number): void {
  const [{ payload, arrival }] = held.splice(index, 1);
  if (arrival !== forwarded) displaced++;
  forwarded++;
  outbound.send(payload, Number(forwardPort), forwardHost);
}

inbound.on("message", (payload) => {
  held.push({ payload, arrival: received.length });
  received.push(payload);
  if (held.length >= depth) release(Math.floor(Math.random() * held.length));
  clearTimeout(idle);
  idle = setTimeout(() => {
    while (held.length) release(Math.floor(Math.random() * held.length));
  }, 30);
});

process.once("SIGTERM", () => {
  writeFileSync(record, received.map((payload) => payload.toString("base64")).join("\n"));
  console.log(JSON.stringify({ received: received.length, forwarded, displaced, held: held.length }));
  process.exit(0);
});

outbound.bind(0, process.env.RELAY_SOURCE_HOST, () => inbound.bind(Number(listenPort), listenHost, () => console.log("listening")));
