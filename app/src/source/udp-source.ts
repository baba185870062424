import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Logger } from "pino";

export interface UdpSourceOptions {
  /** Addresses to bind, e.g. ["0.0.0.0", "::"] for IPv4 and IPv6. */
  readonly hosts: readonly string[];
  readonly port: number;
  /** Requested SO_RCVBUF; the kernel caps it at net.core.rmem_max (and reports double). */
  readonly recvBufferBytes?: number;
}

export interface BoundSocket {
  readonly host: string;
  readonly port: number;
  readonly recvBufferBytes: number;
}

/** The UDP source: one socket per bind address, each handing raw datagrams to `onDatagram`. */
export class UdpSource {
  private readonly sockets: Socket[] = [];
  readonly bound: BoundSocket[] = [];

  constructor(
    private readonly options: UdpSourceOptions,
    private readonly onDatagram: (payload: Buffer, sourceAddress: string) => void,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const host of this.options.hosts) {
      const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", ipv6Only: isIPv6(host) });
      socket.on("message", (payload, remote) => this.onDatagram(payload, remote.address));
      socket.on("error", (error) => this.log.error({ err: error, host }, "udp socket error"));
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once("error", reject);
          socket.bind(this.options.port, host, () => {
            socket.off("error", reject);
            resolve();
          });
        });
      } catch (error) {
        socket.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (isIPv6(host) && (code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL")) {
          this.log.warn({ host, code }, "IPv6 is not available here; listening on IPv4 only");
          continue;
        }
        throw new Error(`cannot bind UDP ${host}:${this.options.port}: ${(error as Error).message}`);
      }
      if (this.options.recvBufferBytes) socket.setRecvBufferSize(this.options.recvBufferBytes);
      const effective = socket.getRecvBufferSize();
      const address = socket.address();
      this.sockets.push(socket);
      this.bound.push({ host, port: address.port, recvBufferBytes: effective });
      this.log.info(
        { host, port: address.port, requestedRecvBuffer: this.options.recvBufferBytes ?? null, effectiveRecvBuffer: effective },
        "listening for UDP events",
      );
    }
    if (this.sockets.length === 0) throw new Error("no UDP socket could be bound");
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.bound[0]?.port ?? this.options.port;
  }

  /** Stops intake; datagrams already received have been handled synchronously. */
  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    this.sockets.length = 0;
  }
}
