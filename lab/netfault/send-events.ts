/**
 * Sends the events of an ndjson file through the client library, one event per datagram (so a
 * dropped packet is exactly one lost event), paced so the sender's own socket never overflows.
 *
 *   send-events <file> <host> <port>
 */
import { readFileSync } from "node:fs";
import { UdpEventClient } from "../../app/src/client/udp-client";
import type { PlaybackEvent } from "../../app/src/protocol/event";

async function main(): Promise<void> {
  const [file, host, port] = process.argv.slice(2);
  const events = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PlaybackEvent);
  const client = new UdpEventClient({ host, port: Number(port) });
  let datagrams = 0;
  for (let index = 0; index < events.length; index++) {
    datagrams += await client.send([events[index]]);
    if (index % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await client.close();
  console.log(JSON.stringify({ events: events.length, datagrams }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
