import { isIPv6 } from "node:net";
import type { Logger } from "pino";
import { openDgramSocket, type DatagramHandler, type ListeningSocket } from "./listening-socket";
import { RecvmmsgSocket } from "./recvmmsg-socket";

export const UDP_RECEIVERS = ["recvmmsg", "dgram"] as const;
export type UdpReceiver = (typeof UDP_RECEIVERS)[number];

export interface UdpSourceOptions {
  /** Addresses to bind, e.g. ["0.0.0.0", "::"] for IPv4 and IPv6. */
  readonly hosts: readonly string[];
  readonly port: number;
  /** Requested SO_RCVBUF; the kernel caps it at net.core.rmem_max (and reports double). */
  readonly recvBufferBytes?: number;
  /** recvmmsg: the native batch receiver (Linux); dgram: Node's own socket, one callback per datagram. */
  readonly receiver: UdpReceiver;
  /** The largest datagram delivered whole; longer ones arrive longer than this and are refused downstream. */
  readonly maxDatagramBytes: number;
}

export interface BoundSocket {
  readonly host: string;
  readonly port: number;
  readonly recvBufferBytes: number;
}

/** Where the source hands each datagram: bytes [start, end) of `payload`, valid only during the call. */
export interface DatagramSink {
  handleDatagram(payload: Buffer, sourceAddress: string, start: number, end: number): void;
}

/** What the source counts. */
export class SourceTelemetry {
  datagrams = 0;
}

/** The UDP source: one socket per bind address, each handing raw datagrams to its downstream. */
export class UdpSource {
  readonly telemetry = new SourceTelemetry();
  private readonly sockets: ListeningSocket[] = [];
  readonly bound: BoundSocket[] = [];
  private readonly onDatagram: DatagramHandler;

  constructor(
    private readonly options: UdpSourceOptions,
    downstream: DatagramSink,
    private readonly log: Logger,
  ) {
    const telemetry = this.telemetry;
    this.onDatagram = (payload, start, end, source) => {
      telemetry.datagrams++;
      downstream.handleDatagram(payload, source, start, end);
    };
  }

  async start(): Promise<void> {
    // A missing native build is a configuration error, not a bind failure: say so before binding.
    if (this.options.receiver === "recvmmsg") RecvmmsgSocket.assertBuilt();
    for (const host of this.options.hosts) {
      // With port 0, every address after the first binds the port the first one got.
      const port = this.options.port === 0 && this.sockets.length > 0 ? this.sockets[0].port : this.options.port;
      let socket: ListeningSocket;
      try {
        socket = await this.open(host, port);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (isIPv6(host) && (code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL")) {
          this.log.warn({ host, code }, "IPv6 is not available here; listening on IPv4 only");
          continue;
        }
        throw new Error(`cannot bind UDP ${host}:${port}: ${(error as Error).message}`);
      }
      this.sockets.push(socket);
      this.bound.push({ host, port: socket.port, recvBufferBytes: socket.recvBufferBytes });
      this.log.info(
        {
          host,
          port: socket.port,
          receiver: this.options.receiver,
          requestedRecvBuffer: this.options.recvBufferBytes ?? null,
          effectiveRecvBuffer: socket.recvBufferBytes,
        },
        "listening for UDP events",
      );
      // Linux grants twice the request (its bookkeeping), capped at net.core.rmem_max; a capped
      // buffer overflows in bursts the setting was sized for, and nothing else would say so.
      const requested = this.options.recvBufferBytes;
      const granted = process.platform === "linux" ? socket.recvBufferBytes / 2 : socket.recvBufferBytes;
      if (requested !== undefined && granted < requested) {
        this.log.warn(
          { host, requestedRecvBuffer: requested, grantedRecvBuffer: granted },
          "the kernel capped the UDP receive buffer below recvBufferBytes: raise net.core.rmem_max on the node",
        );
      }
    }
    if (this.sockets.length === 0) throw new Error("no UDP socket could be bound");
  }

  private open(host: string, port: number): Promise<ListeningSocket> {
    const common = { host, port, ipv6Only: isIPv6(host), recvBufferBytes: this.options.recvBufferBytes, onDatagram: this.onDatagram };
    if (this.options.receiver === "recvmmsg")
      return Promise.resolve().then(() => RecvmmsgSocket.open({ ...common, maxDatagramBytes: this.options.maxDatagramBytes }));
    return openDgramSocket({ ...common, onError: (error) => this.log.error({ err: error, host }, "udp socket error") });
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.bound[0]?.port ?? this.options.port;
  }

  /** Stops intake; datagrams already received have been handled synchronously. */
  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => socket.close()));
    this.sockets.length = 0;
  }
}
