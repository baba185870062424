import ipaddr from "ipaddr.js";
import { loadAddon } from "../native-addon";
import type { DatagramHandler, ListeningSocket } from "./listening-socket";

/** Datagrams per recvmmsg call, and so per call into JavaScript. */
const SLOTS = 64;
/** Words of meta per datagram: length, family (4 or 6), port, address (4 words). */
const META_WORDS = 7;
/** Distinct IPv4 source strings kept, so a busy source costs one Map lookup, not a string. */
const MAX_CACHED_ADDRESSES = 4096;
const NEWLINE = 0x0a;

/** Loads the addon, with the setting to change when it is not built. */
const addon = () => loadAddon("udpReceiver recvmmsg (set udpReceiver to dgram to do without)");

function ipv6Text(meta: Int32Array, at: number): string {
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const value = meta[at + word];
    bytes.push((value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
  }
  // The same compressed form Node's dgram reports, so limits key a source the same way either way.
  return ipaddr.fromByteArray(bytes).toString();
}

/** The sender's address as text; IPv4 texts are cached by address, since a few sources send most. */
function sourceAddress(meta: Int32Array, at: number, ipv4Texts: Map<number, string>): string {
  if (meta[at + 1] === 6) return ipv6Text(meta, at + 3);
  const address = meta[at + 3] >>> 0;
  let text = ipv4Texts.get(address);
  if (text === undefined) {
    if (ipv4Texts.size >= MAX_CACHED_ADDRESSES) ipv4Texts.clear();
    text = `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
    ipv4Texts.set(address, text);
  }
  return text;
}

/**
 * A UDP socket read with recvmmsg(2): up to 64 datagrams per system call and per call into
 * JavaScript, copied into one buffer that is reused for every batch. Node 20's dgram pays a
 * recvmsg, a Buffer, an address object and a callback for every datagram, which at one event
 * per datagram was most of the receiving thread's time. Handlers must not keep the buffer:
 * it is overwritten by the next batch.
 */
export class RecvmmsgSocket implements ListeningSocket {
  private closed = false;

  private constructor(
    private readonly handle: object,
    readonly port: number,
    readonly recvBufferBytes: number,
  ) {}

  /** Throws, naming the setting and the fix, when the addon is not built or cannot load. */
  static assertBuilt(): void {
    addon();
  }

  static open(options: {
    host: string;
    port: number;
    ipv6Only: boolean;
    recvBufferBytes?: number;
    /** Longest datagram to deliver whole; a longer one arrives cut to this plus one byte. */
    maxDatagramBytes: number;
    onDatagram: DatagramHandler;
  }): RecvmmsgSocket {
    const slotBytes = options.maxDatagramBytes + 1;
    const payloads = Buffer.allocUnsafeSlow(SLOTS * slotBytes);
    const meta = new Int32Array(SLOTS * META_WORDS);
    const ipv4Texts = new Map<number, string>();
    const onBatch = (count: number) => {
      for (let index = 0, at = 0; index < count; index++, at += META_WORDS) {
        const start = index * slotBytes;
        const end = start + meta[at];
        // A newline after the datagram ends a line search there instead of in the rest of the
        // buffer. There is always room: a slot is a byte longer than any datagram delivered whole.
        if (end < start + slotBytes) payloads[end] = NEWLINE;
        options.onDatagram(payloads, start, end, sourceAddress(meta, at, ipv4Texts));
      }
    };
    const opened = addon().udpOpen(
      options.host,
      options.port,
      options.ipv6Only,
      options.recvBufferBytes ?? 0,
      payloads.buffer,
      meta,
      onBatch,
    );
    return new RecvmmsgSocket(opened.handle, opened.port, opened.recvBufferBytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    addon().udpClose(this.handle);
  }
}
