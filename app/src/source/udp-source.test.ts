import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import pino, { type Logger } from "pino";
import { UDP_RECEIVERS, UdpSource, type UdpReceiver } from "./udp-source";

const silent = pino({ level: "silent" });
const MAX_DATAGRAM = 1024;

interface Received {
  payload: string;
  from: string;
}

/** A source on a free loopback port that copies out every datagram it is handed. */
async function listen(receiver: UdpReceiver, hosts: string[], options: { port?: number; recvBufferBytes?: number; log?: Logger } = {}) {
  const received: Received[] = [];
  const source = new UdpSource(
    { hosts, port: options.port ?? 0, receiver, maxDatagramBytes: MAX_DATAGRAM, recvBufferBytes: options.recvBufferBytes },
    // The batch receiver reuses its buffer: copy now, as the ingest pipeline does.
    { handleDatagram: (buffer, from, start, end) => void received.push({ payload: buffer.toString("latin1", start, end), from }) },
    options.log ?? silent,
  );
  await source.start();
  return { source, received };
}

function sender(type: "udp4" | "udp6"): Socket {
  return createSocket(type);
}

const send = (socket: Socket, payload: Buffer | string, port: number, host: string) =>
  new Promise<void>((resolve, reject) => socket.send(payload, port, host, (error) => (error ? reject(error) : resolve())));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(UDP_RECEIVERS)("UdpSource with the %s receiver", (receiver) => {
  it("hands over each datagram's bytes and its sender's address, on IPv4 and IPv6", async () => {
    const { source, received } = await listen(receiver, ["127.0.0.1", "::1"]);
    const [v4, v6] = [sender("udp4"), sender("udp6")];
    try {
      expect(source.bound.map((socket) => socket.port)).toEqual([source.port, source.port]);
      await send(v4, "first\nline", source.port, "127.0.0.1");
      await send(v6, Buffer.from([0x00, 0xff, 0x0a, 0x7b]), source.port, "::1");
      await until(() => received.length === 2, "two datagrams");
      const byPayload = new Map(received.map((datagram) => [datagram.payload, datagram.from]));
      expect(byPayload.get("first\nline")).toBe("127.0.0.1");
      expect(byPayload.get("\u0000\u00ff\n{")).toBe("::1");
    } finally {
      v4.close();
      v6.close();
      await source.stop();
    }
  });

  it("delivers a burst far larger than one receive batch completely and in order", async () => {
    const { source, received } = await listen(receiver, ["127.0.0.1"], { recvBufferBytes: 4 << 20 });
    const socket = sender("udp4");
    try {
      const sends: Promise<void>[] = [];
      for (let index = 0; index < 3_000; index++)
        sends.push(send(socket, `datagram ${index} ${"x".repeat(index % 200)}`, source.port, "127.0.0.1"));
      await Promise.all(sends);
      await until(() => received.length === 3_000, "3000 datagrams");
      received.forEach((datagram, index) => expect(datagram.payload).toBe(`datagram ${index} ${"x".repeat(index % 200)}`));
    } finally {
      socket.close();
      await source.stop();
    }
  });

  it("hands over a datagram longer than maxDatagramBytes as longer than it, and the next one intact", async () => {
    const { source, received } = await listen(receiver, ["127.0.0.1"]);
    const socket = sender("udp4");
    try {
      await send(socket, "y".repeat(MAX_DATAGRAM + 500), source.port, "127.0.0.1");
      await send(socket, "z".repeat(MAX_DATAGRAM), source.port, "127.0.0.1");
      await until(() => received.length === 2, "two datagrams");
      // The pipeline refuses anything longer than the limit as too_large; it need not be whole.
      expect(received[0].payload.length).toBeGreaterThan(MAX_DATAGRAM);
      expect(received[0].payload).toMatch(/^y+$/);
      expect(received[1].payload).toBe("z".repeat(MAX_DATAGRAM));
    } finally {
      socket.close();
      await source.stop();
    }
  });

  it("reports the receive buffer the kernel granted, and refuses a port that is taken", async () => {
    const { source } = await listen(receiver, ["127.0.0.1"], { recvBufferBytes: 1 << 20 });
    try {
      // Linux reports double the request (its bookkeeping overhead), capped by net.core.rmem_max.
      expect(source.bound[0].recvBufferBytes).toBeGreaterThanOrEqual(1 << 20);
      await expect(listen(receiver, ["127.0.0.1"], { port: source.port })).rejects.toThrow(
        new RegExp(`cannot bind UDP 127\\.0\\.0\\.1:${source.port}: .*(EADDRINUSE|in use)`, "i"),
      );
    } finally {
      await source.stop();
    }
  });

  // Linux net/core/sock.c (SO_RCVBUF): the request is capped at sysctl_rmem_max and stored doubled, as getsockopt reports it.
  it("warns when the kernel caps the receive buffer below the request (net.core.rmem_max)", async () => {
    const logged: Array<{ level: number; msg: string; requestedRecvBuffer?: number; grantedRecvBuffer?: number }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
    const within = await listen(receiver, ["127.0.0.1"], { recvBufferBytes: rmemMax, log });
    await within.source.stop();
    expect(logged.filter((entry) => entry.level === 40)).toEqual([]);
    const beyond = await listen(receiver, ["127.0.0.1"], { recvBufferBytes: rmemMax * 2, log });
    await beyond.source.stop();
    expect(logged.filter((entry) => entry.level === 40)).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/capped.*net\.core\.rmem_max/),
        requestedRecvBuffer: rmemMax * 2,
        grantedRecvBuffer: rmemMax,
      }),
    ]);
  });

  it("stops handing over datagrams once stopped, and frees the port", async () => {
    const { source, received } = await listen(receiver, ["127.0.0.1"]);
    const socket = sender("udp4");
    const port = source.port;
    try {
      await source.stop();
      await send(socket, "after stop", port, "127.0.0.1");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([]);
      const again = await listen(receiver, ["127.0.0.1"], { port });
      await send(socket, "rebound", port, "127.0.0.1");
      await until(() => again.received.length === 1, "the datagram on the rebound port");
      await again.source.stop();
    } finally {
      socket.close();
    }
  });
});
