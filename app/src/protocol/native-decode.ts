import { loadAddon, type CollectorAddon } from "../native-addon";
import { decodeDatagram, decodeLine, type DecodeSink } from "./decode";
import { CODE_REQUIRED_ON, EVENT_FIELDS, EVENT_TYPES, LIMITS, PLAYBACK_TYPES, PROTOCOL_VERSION, SOURCES, STALL_REQUIRED_ON } from "./event";

export const DECODERS = ["native", "js"] as const;
export type DecoderKind = (typeof DECODERS)[number];

/**
 * A DecodeSink that can also take a line the native scanner has already validated, without a
 * parsed object: its bytes, client time, the id's fingerprint (as fingerprintOf) and where its
 * session id lies in the buffer (plain ASCII there, so a latin1 slice reads it).
 */
export interface ScannedEventSink extends DecodeSink {
  acceptScanned(
    buffer: Buffer,
    start: number,
    end: number,
    t: number,
    idHigh: number,
    idLow: number,
    sidStart: number,
    sidEnd: number,
  ): void;
}

/** Splits a datagram into events and hands each to the sink; returns the number of non-empty lines. */
export interface DatagramDecoder {
  readonly kind: DecoderKind;
  decode(payload: Buffer, sink: ScannedEventSink, from: number, to: number): number;
}

/** JSON.parse and checkEvent for every line: portable, and the reference the native path is held to. */
export const jsDecoder: DatagramDecoder = {
  kind: "js",
  decode: (payload, sink, from, to) => decodeDatagram(payload, sink, from, to),
};

/** Row layout of the scanner's results (app/native/event_scan.c). */
const STRIDE = 8;
const ROWS = 256;
const [STATUS, LINE_START, LINE_END, T, ID_HIGH, ID_LOW, SID_START, SID_END] = [0, 1, 2, 3, 4, 5, 6, 7];

let configured: CollectorAddon | undefined;

/**
 * Tells the scanner the protocol's facts from protocol/event.ts, so they live in one place;
 * `fields` is the declared field order (another order only for the scanner's own test).
 */
export function configureEventScan(addon: CollectorAddon, fields: string[] = EVENT_FIELDS.map((field) => field.name)): void {
  addon.eventScanConfigure(
    PROTOCOL_VERSION,
    LIMITS.idLength,
    LIMITS.labelLength,
    LIMITS.nameLength,
    LIMITS.codeLength,
    [...EVENT_TYPES],
    [...PLAYBACK_TYPES],
    [...SOURCES],
    STALL_REQUIRED_ON,
    CODE_REQUIRED_ON,
    fields,
  );
}

/** The addon, configured once; `neededFor` names what needs it if it is not built. */
function configuredAddon(neededFor = "--decoder native"): CollectorAddon {
  if (!configured) {
    const addon = loadAddon(neededFor);
    configureEventScan(addon);
    configured = addon;
  }
  return configured;
}

/**
 * The native scanner first (app/native/event_scan.c): a line in the plain form clients write is
 * validated in C without making a string or an object. Any other line, including every invalid
 * one, is decoded by decodeLine as the JS decoder would, so rejections and their details are the
 * same on both paths.
 */
export class NativeDecoder implements DatagramDecoder {
  readonly kind = "native";
  private readonly addon = configuredAddon();
  private readonly results = new Float64Array(STRIDE * ROWS);

  decode(payload: Buffer, sink: ScannedEventSink, from: number, to: number): number {
    const results = this.results;
    let lines = 0;
    let start = from;
    while (start < to) {
      const count = this.addon.eventScan(payload, start, to, results);
      for (let row = 0; row < count * STRIDE; row += STRIDE) {
        const lineStart = results[row + LINE_START];
        const lineEnd = results[row + LINE_END];
        if (results[row + STATUS] === 1)
          sink.acceptScanned(
            payload,
            lineStart,
            lineEnd,
            results[row + T],
            results[row + ID_HIGH],
            results[row + ID_LOW],
            results[row + SID_START],
            results[row + SID_END],
          );
        else decodeLine(payload, lineStart, lineEnd, sink);
      }
      lines += count;
      // Fewer rows than room means the scan reached `to`; a full table resumes after its last line.
      start = count < ROWS ? to : results[(count - 1) * STRIDE + LINE_END] + 1;
    }
    return lines;
  }
}

/**
 * The scanner over stored lines (the store thread's view): for each non-empty line of bytes
 * [from, to), whether it is certainly a valid event in the plain form (then `t` is its client
 * time) or must be parsed in JavaScript.
 */
export class LineScanner {
  private readonly addon = configuredAddon("storing spooled events (either store)");
  private readonly results = new Float64Array(STRIDE * ROWS);

  /** Returns the number of non-empty lines visited. */
  scan(buffer: Buffer, from: number, to: number, visit: (plain: boolean, start: number, end: number, t: number) => void): number {
    const results = this.results;
    let lines = 0;
    let start = from;
    while (start < to) {
      const count = this.addon.eventScan(buffer, start, to, results);
      for (let row = 0; row < count * STRIDE; row += STRIDE)
        visit(results[row + STATUS] === 1, results[row + LINE_START], results[row + LINE_END], results[row + T]);
      lines += count;
      start = count < ROWS ? to : results[(count - 1) * STRIDE + LINE_END] + 1;
    }
    return lines;
  }
}

export function datagramDecoder(kind: DecoderKind): DatagramDecoder {
  return kind === "native" ? new NativeDecoder() : jsDecoder;
}
