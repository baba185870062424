import { createSocket } from "node:dgram";
import { packEvents } from "../../app/src/client/packer";
import { sampleEvent } from "./events";

/**
 * A steady stream of uniquely numbered events to a UDP port, paced so loopback never drops
 * them (datagrams of 10 events, `eventsPerTick` every `tickMs`). It keeps sending while the
 * collector is down, as a real player would; the port can change for a restarted collector.
 */
export class EventStream {
  /** When each event was sent, by its number (its id is `${prefix}-${n}`). */
  readonly sentAt: number[] = [];
  private readonly socket = createSocket("udp4");
  private timer?: NodeJS.Timeout;

  constructor(
    public port: number,
    private readonly prefix: string,
    private readonly eventsPerTick = 50,
    private readonly tickMs = 10,
    private readonly host = "127.0.0.1",
  ) {
    // A send to a closed port is fine; the events are simply lost on the wire.
    this.socket.on("error", () => undefined);
  }

  get sent(): number {
    return this.sentAt.length;
  }

  static idOf(prefix: string, n: number): string {
    return `${prefix}-${n}`;
  }

  start(): void {
    this.timer = setInterval(() => {
      const now = Date.now();
      const first = this.sentAt.length;
      const events = Array.from({ length: this.eventsPerTick }, (_, k) =>
        sampleEvent({
          id: EventStream.idOf(this.prefix, first + k),
          sid: `${this.prefix}-s${(first + k) % 97}`,
          seq: first + k + 1,
          t: now,
        }),
      );
      for (let k = 0; k < events.length; k++) this.sentAt.push(now);
      for (let offset = 0; offset < events.length; offset += 10) {
        for (const datagram of packEvents(events.slice(offset, offset + 10))) this.socket.send(datagram, this.port, this.host);
      }
    }, this.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.socket.close();
  }
}
