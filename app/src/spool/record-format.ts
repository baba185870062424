import { crc32 } from "node:zlib";

/**
 * The spool's on-disk format. A segment file starts with SEGMENT_MAGIC; then records, each
 *
 *   u32 LE payload length | u32 LE CRC-32 of the payload | payload (accepted wire lines, "\n"-joined)
 *
 * Positions are byte offsets in one stream that continues across segments: a segment named
 * `<base>.seg` holds positions [base, base + file size − magic). Its base is where the
 * previous segment ended, so a position never depends on which files still exist.
 */
export const SEGMENT_MAGIC = Buffer.from("SPOOL\u0001\n\0", "latin1");
export const RECORD_HEADER_BYTES = 8;
/** A record holds the lines accepted in one event-loop turn; far larger means corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export const segmentFileName = (base: number): string => `${String(base).padStart(20, "0")}.seg`;

export function segmentBaseOf(fileName: string): number | undefined {
  const match = SEGMENT_NAME.exec(fileName);
  return match ? Number(match[1]) : undefined;
}

/** The header for a record holding `payload`, written in front of it with a single writev. */
export function recordHeader(payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return header;
}

export type RecordCheck =
  | { readonly kind: "record"; readonly payload: Buffer; readonly bytes: number }
  /** The buffer ends inside this record: read more, or (at the end of a file) it is torn. */
  | { readonly kind: "incomplete" }
  | { readonly kind: "corrupt"; readonly reason: string };

/** Reads the record at `offset` of `buffer`, checking its length and checksum. */
export function recordAt(buffer: Buffer, offset: number, end = buffer.length): RecordCheck {
  if (end - offset < RECORD_HEADER_BYTES) return { kind: "incomplete" };
  const length = buffer.readUInt32LE(offset);
  if (length === 0 || length > MAX_RECORD_BYTES) return { kind: "corrupt", reason: `record length ${length} is out of range` };
  const bytes = RECORD_HEADER_BYTES + length;
  if (end - offset < bytes) return { kind: "incomplete" };
  const payload = buffer.subarray(offset + RECORD_HEADER_BYTES, offset + bytes);
  if (crc32(payload) !== buffer.readUInt32LE(offset + 4)) return { kind: "corrupt", reason: "checksum mismatch" };
  return { kind: "record", payload, bytes };
}
