import { jsDecoder, type DatagramDecoder, type ScannedEventSink } from "../protocol/native-decode";
import { verifyDatagram } from "../protocol/signing";
import type { PlaybackEvent, RejectReason } from "../protocol/event";
import { zeroByReason } from "../telemetry";
import type { Admission } from "./admission";
import type { DedupeWindow } from "./dedupe-window";
import { fingerprintOf } from "./fingerprint-table";

export interface DecodeOptions {
  readonly maxDatagramBytes: number;
  /** When set, every datagram must be signed by one of these keys (see protocol/signing.ts). */
  readonly auth?: { readonly keys: ReadonlyMap<string, Buffer>; readonly maxAgeMs: number; readonly replays: DedupeWindow };
  /** Default: JSON.parse for every line (jsDecoder). */
  readonly decoder?: DatagramDecoder;
}

/** What decoding counts: datagrams and lines it was handed, and what it rejected. */
export class DecodeTelemetry {
  datagrams = 0;
  /** Non-empty lines, i.e. events received before validation. */
  lines = 0;
  readonly rejectedEvents = zeroByReason();
  readonly rejectedDatagrams = zeroByReason();
}

/**
 * size → signature → decode and validate, for one datagram at a time; each valid event goes to
 * admission. It is the decoder's sink itself, so the hot path creates no per-datagram closures
 * or result arrays.
 */
export class DecodeStage implements ScannedEventSink {
  readonly telemetry = new DecodeTelemetry();
  private readonly decoder: DatagramDecoder;
  private readonly print = { high: 0, low: 0 };

  constructor(
    private readonly admission: Admission,
    private readonly options: DecodeOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.decoder = options.decoder ?? jsDecoder;
  }

  /**
   * Never throws: a bad datagram is counted and cannot affect any other. The datagram is bytes
   * [start, end) of `payload`; nothing here keeps the buffer (a batch receiver reuses it).
   */
  handleDatagram(payload: Buffer, sourceAddress = "unknown", start = 0, end = payload.length): void {
    this.telemetry.datagrams++;
    if (end - start > this.options.maxDatagramBytes) return this.rejectDatagram("too_large");
    const now = this.clock();
    this.admission.beginDatagram(sourceAddress, now);
    const auth = this.options.auth;
    if (auth) {
      const verified = verifyDatagram(payload.subarray(start, end), auth.keys, now, auth.maxAgeMs);
      if (!verified.ok) return this.rejectDatagram(verified.reason);
      if (auth.replays.seenOrAdd(verified.mac, now)) return this.rejectDatagram("replayed");
      payload = verified.payload;
      start = 0;
      end = payload.length;
    }
    try {
      if (this.decoder.decode(payload, this, start, end) === 0) this.rejectDatagram("malformed");
    } catch {
      // The decoders do not throw; this guards the socket handler against the unforeseen.
      this.rejectDatagram("malformed");
    }
  }

  accept(event: PlaybackEvent, buffer: Buffer, start: number, end: number): void {
    this.telemetry.lines++;
    const { high, low } = fingerprintOf(event.id, this.print);
    this.admission.admit(buffer, start, end, event.t, high, low, event.sid);
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
    this.telemetry.lines++;
    // The session id is only needed by the limiter; the scanner vouches that it is plain ASCII.
    const sid = this.admission.needsSession ? buffer.toString("latin1", sidStart, sidEnd) : "";
    this.admission.admit(buffer, start, end, t, idHigh, idLow, sid);
  }

  reject(reason: RejectReason): void {
    this.telemetry.lines++;
    this.telemetry.rejectedEvents[reason]++;
  }

  private rejectDatagram(reason: RejectReason): void {
    this.telemetry.rejectedDatagrams[reason]++;
  }
}
