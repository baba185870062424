/**
 * A flood of valid events, every one with a fresh session id, 10 to a datagram, paced at
 * `perSecond` datagrams; run inside a namespace whose nftables rewrites each datagram's source
 * address, so the collector sees them from many sources.
 *
 *   spoofed-flood <host> <port> <events> <perSecond>
 */
import { createSocket } from "node:dgram";
import { packEvents } from "../../app/src/client/packer";
import { sampleEvent } from "../../test-support/collector/events";

async function main(): Promise<void> {
  const [host, port, eventsText, perSecondText] = process.argv.slice(2);
  const total = Number(eventsText);
  const perTick = Math.max(1, Math.round(Number(perSecondText) / 20));
  const socket = createSocket({ type: "udp4", sendBufferSize: 4 * 1024 * 1024 });
  let sent = 0;
  let datagrams = 0;
  while (sent < total) {
    const tickStart = Date.now();
    for (let d = 0; d < perTick && sent < total; d++) {
      const events = Array.from({ length: Math.min(10, total - sent) }, (_, k) =>
        sampleEvent({ id: `flood-${sent + k}`, sid: `flood-s${sent + k}`, pid: `flood-p${sent + k}`, t: Date.now(), region: "flood" }),
      );
      sent += events.length;
      for (const datagram of packEvents(events)) {
        socket.send(datagram, Number(port), host);
        datagrams++;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (Date.now() - tickStart))));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.close();
  console.log(JSON.stringify({ events: sent, datagrams }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
