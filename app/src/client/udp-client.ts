import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { RECOMMENDED_DATAGRAM_BYTES, type PlaybackEvent } from "../protocol/event";
import { signDatagram, type SigningKey } from "../protocol/signing";
import { packEvents } from "./packer";

export interface UdpEventClientOptions {
  readonly host: string;
  readonly port: number;
  readonly maxDatagramBytes?: number;
  /** Sign every datagram (collectors with COLLECTOR_AUTH_KEYS refuse unsigned ones). */
  readonly signWith?: SigningKey;
}

/** What players (and the lab simulator) use to send events: packs them and sends over UDP. */
export class UdpEventClient {
  private readonly socket: Socket;
  private readonly maxBytes: number;

  constructor(private readonly options: UdpEventClientOptions) {
    this.socket = createSocket(isIPv6(options.host) ? "udp6" : "udp4");
    // The signature line takes up to 96 bytes; the whole datagram still fits the budget.
    this.maxBytes = (options.maxDatagramBytes ?? RECOMMENDED_DATAGRAM_BYTES) - (options.signWith ? 96 : 0);
  }

  /** Packs and sends; resolves when every datagram was handed to the kernel. */
  async send(events: readonly PlaybackEvent[]): Promise<number> {
    const datagrams = packEvents(events, this.maxBytes);
    for (const datagram of datagrams) await this.sendRaw(datagram);
    return datagrams.length;
  }

  sendRaw(payload: Buffer): Promise<void> {
    const datagram = this.options.signWith ? signDatagram(payload, this.options.signWith, Date.now()) : payload;
    return new Promise((resolve, reject) =>
      this.socket.send(datagram, this.options.port, this.options.host, (error) => (error ? reject(error) : resolve())),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
