import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { RECOMMENDED_DATAGRAM_BYTES, type PlaybackEvent } from "../protocol/event";
import { packEvents } from "./packer";

export interface UdpEventClientOptions {
  readonly host: string;
  readonly port: number;
  readonly maxDatagramBytes?: number;
}

/** What players (and the lab simulator) use to send events: packs them and sends over UDP. */
export class UdpEventClient {
  private readonly socket: Socket;
  private readonly maxBytes: number;

  constructor(private readonly options: UdpEventClientOptions) {
    this.socket = createSocket(isIPv6(options.host) ? "udp6" : "udp4");
    this.maxBytes = options.maxDatagramBytes ?? RECOMMENDED_DATAGRAM_BYTES;
  }

  /** Packs and sends; resolves when every datagram was handed to the kernel. */
  async send(events: readonly PlaybackEvent[]): Promise<number> {
    const datagrams = packEvents(events, this.maxBytes);
    for (const datagram of datagrams) await this.sendRaw(datagram);
    return datagrams.length;
  }

  sendRaw(datagram: Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(datagram, this.options.port, this.options.host, (error) => (error ? reject(error) : resolve())),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
