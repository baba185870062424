import { createSocket } from "node:dgram";

/**
 * Receives one datagram: bytes [start, end) of `buffer`, valid only during the call (a batch
 * receiver reuses the buffer), and the sender's address.
 */
export type DatagramHandler = (buffer: Buffer, start: number, end: number, sourceAddress: string) => void;

/** One bound UDP socket, whichever way it is read. */
export interface ListeningSocket {
  readonly port: number;
  /** SO_RCVBUF as the kernel reports it (double the request, capped by net.core.rmem_max). */
  readonly recvBufferBytes: number;
  close(): Promise<void>;
}

/** Node's own dgram socket: one callback per datagram. Portable; slower (see RecvmmsgSocket). */
export async function openDgramSocket(options: {
  host: string;
  port: number;
  ipv6Only: boolean;
  recvBufferBytes?: number;
  onDatagram: DatagramHandler;
  onError: (error: Error) => void;
}): Promise<ListeningSocket> {
  const socket = createSocket({ type: options.ipv6Only ? "udp6" : "udp4", ipv6Only: options.ipv6Only });
  socket.on("message", (payload, remote) => options.onDatagram(payload, 0, payload.length, remote.address));
  socket.on("error", options.onError);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port, options.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  if (options.recvBufferBytes) socket.setRecvBufferSize(options.recvBufferBytes);
  return {
    port: socket.address().port,
    recvBufferBytes: socket.getRecvBufferSize(),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
