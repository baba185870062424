import { jsDecoder, type DatagramDecoder, type ScannedEventSink } from "../protocol/native-decode";
import { verifyDatagram } from "../protocol/signing";
import type { PlaybackEvent, RejectReason } from "../protocol/event";
import type { DedupeWindow } from "./dedupe-window";
import { fingerprintOf } from "./fingerprint-table";
import type { IngestStats } from "./ingest-stats";
import type { SourceLimiter } from "./source-limiter";
import type { AcceptedEvents } from "./spool-intake";

export interface IngestOptions {
  readonly maxDatagramBytes: number;
  /** Events whose client time is further than this from the collector's clock are rejected. */
  readonly maxSkewMs: number;
  /** When set, every datagram must be signed by one of these keys (see protocol/signing.ts). */
  readonly auth?: { readonly keys: ReadonlyMap<string, Buffer>; readonly maxAgeMs: number; readonly replays: DedupeWindow };
  /** Per-source rate and session limits; off when absent. */
  readonly limiter?: SourceLimiter;
  /** Default: JSON.parse for every line (jsDecoder). */
  readonly decoder?: DatagramDecoder;
}

/**
 * decode → validate → skew → rate limit → room → dedupe → spool, for one datagram at a time. It is the
 * decoder's sink itself, so the hot path creates no per-datagram closures or result arrays.
 */
export class IngestPipeline implements ScannedEventSink {
  private now = 0;
  private source?: ReturnType<SourceLimiter["source"]>;
  private readonly decoder: DatagramDecoder;
  private readonly print = { high: 0, low: 0 };

  constructor(
    private readonly stats: IngestStats,
    private readonly dedupe: DedupeWindow,
    /** Takes accepted events as their wire lines (the spool); the store thread parses them again. */
    private readonly accepted: AcceptedEvents,
    private readonly options: IngestOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.decoder = options.decoder ?? jsDecoder;
  }

  /**
   * Never throws: a bad datagram is counted and cannot affect any other. The datagram is bytes
   * [start, end) of `payload`; nothing here keeps the buffer (a batch receiver reuses it).
   */
  handleDatagram(payload: Buffer, sourceAddress = "unknown", start = 0, end = payload.length): void {
    this.stats.datagrams++;
    if (end - start > this.options.maxDatagramBytes) {
      this.stats.rejectDatagram("too_large");
      return;
    }
    this.now = this.clock();
    this.source = this.options.limiter?.source(sourceAddress, this.now);
    const auth = this.options.auth;
    if (auth) {
      const verified = verifyDatagram(payload.subarray(start, end), auth.keys, this.now, auth.maxAgeMs);
      if (!verified.ok) return this.stats.rejectDatagram(verified.reason);
      if (auth.replays.seenOrAdd(verified.mac, this.now)) return this.stats.rejectDatagram("replayed");
      payload = verified.payload;
      start = 0;
      end = payload.length;
    }
    try {
      if (this.decoder.decode(payload, this, start, end) === 0) this.stats.rejectDatagram("malformed");
    } catch {
      // The decoders do not throw; this guards the socket handler against the unforeseen.
      this.stats.rejectDatagram("malformed");
    }
  }

  accept(event: PlaybackEvent, buffer: Buffer, start: number, end: number): void {
    const { high, low } = fingerprintOf(event.id, this.print);
    this.admit(buffer, start, end, event.t, high, low, event.sid);
  }

  acceptScanned(
    buffer: Buffer,
    start: number,
    end: number,
    t: number,
    idHigh: number,
    idLow: number,
    sidStart: number,
    sidEnd: number,
  ): void {
    // The session id is only needed by the limiter; the scanner vouches that it is plain ASCII.
    this.admit(buffer, start, end, t, idHigh, idLow, this.source ? buffer.toString("latin1", sidStart, sidEnd) : "");
  }

  private admit(buffer: Buffer, start: number, end: number, t: number, idHigh: number, idLow: number, sid: string): void {
    this.stats.events++;
    const skew = t - this.now;
    if (skew > this.options.maxSkewMs || skew < -this.options.maxSkewMs) return this.refuse("skew");
    if (this.source && !this.options.limiter!.admit(this.source, sid)) return this.refuse("rate_limited");
    // Room is checked before the id is remembered, so a retry after overload is not a "duplicate".
    if (!this.accepted.hasRoom) return this.refuse("overload");
    if (this.dedupe.seenOrAddFingerprint(idHigh, idLow, this.now)) return this.refuse("duplicate");
    this.accepted.add(buffer, start, end, idHigh, idLow);
  }

  reject(reason: RejectReason): void {
    this.stats.events++;
    this.stats.rejectEvent(reason);
  }

  private refuse(reason: RejectReason): void {
    this.stats.rejectEvent(reason);
  }
}
