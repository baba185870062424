import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { SEGMENT_MAGIC, recordAt, segmentFileName } from "./record-format";
import type { SpoolLedger } from "./ledger";
import { deleteCommittedSegments, listSegments } from "./segments";

/** Accepted wire lines as the spool holds them: the bytes as received, "\n" between lines. */
export interface SpooledLines {
  readonly text: Buffer;
  readonly count: number;
}

/** The lines one at a time, for a store that takes event objects. */
export function splitSpooledLines(lines: SpooledLines): string[] {
  return lines.count === 0 ? [] : lines.text.toString("utf8").split("\n");
}

export interface SpoolBatch {
  readonly lines: SpooledLines;
  /** Where this batch starts: `from`, or the oldest segment if `from` was already deleted. */
  readonly from: number;
  /** The position after the batch's last record: where the next read starts. */
  readonly to: number;
  /** Records that failed their checksum or ran past their segment, skipped. */
  readonly corrupt: ReadonlyArray<{ readonly position: number; readonly reason: string }>;
}

const CHUNK_BYTES = 4 * 1024 * 1024;
/** A full batch of 131 072 events takes about 40 MiB; a larger one grows the buffer. */
const MAX_INITIAL_BATCH_BYTES = 64 * 1024 * 1024;

/**
 * Reads records back from the spool's segment files, in order, from any record boundary, and
 * deletes the segments the store holds. It keeps an open file, a read buffer and the buffer of
 * the last batch's lines (after a backlog 64 MiB, or the largest batch if larger), so a long
 * store outage costs disk, not memory.
 */
export class SpoolReader {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private open?: { base: number; fd: number };
  /**
   * Reused by every read: a fresh buffer per batch was a fresh heap block per write on the
   * store thread, every page of it faulted in (9 400 faults a second at 140k events/s; see
   * docs/adr/0018).
   */
  private readonly lines = new LinesBuffer(CHUNK_BYTES);

  /** With a ledger, `release` publishes where the oldest remaining segment starts. */
  constructor(
    readonly dir: string,
    private readonly ledger?: SpoolLedger,
  ) {}

  /**
   * Deletes the sealed segments that end at or before `committed` and publishes the committed
   * position and the oldest remaining segment in the ledger (the writer's room check reads it).
   */
  release(committed: number): void {
    const oldest = deleteCommittedSegments(this.dir, committed);
    if (this.open && this.open.base < oldest) this.close();
    if (this.ledger) {
      this.ledger.committed = Math.max(this.ledger.committed, committed);
      this.ledger.oldestSegment = oldest;
    }
  }

  /** The oldest position still on disk. */
  start(): number {
    return listSegments(this.dir)[0] ?? 0;
  }

  /**
   * Reads whole records from `from` (a record boundary) towards `end` (the writer's end, also
   * a boundary) until at least `maxLines` lines are collected or `end` is reached. The batch's
   * text is valid until the next read, which writes over it.
   */
  read(from: number, end: number, maxLines: number): SpoolBatch {
    const segments = listSegments(this.dir);
    const corrupt: Array<{ position: number; reason: string }> = [];
    const first = Math.max(from, segments[0] ?? from);
    // The records' payloads are shorter than the stream between here and `end`.
    const text = this.lines.reset(Math.min(Math.max(0, end - first), MAX_INITIAL_BATCH_BYTES));
    let position = first;
    while (position < end && text.count < maxLines) {
      const index = lastIndexAtOrBelow(segments, position);
      if (index < 0) break;
      const base = segments[index];
      // Past `position`: the next segment's base, or the writer's end.
      const segmentEnd = index + 1 < segments.length ? segments[index + 1] : end;
      const fd = this.fileFor(base);
      const want = Math.min(segmentEnd - position, this.buffer.length);
      const got = readFully(fd, this.buffer, want, SEGMENT_MAGIC.length + (position - base));
      let offset = 0;
      while (offset < got && text.count < maxLines) {
        const check = recordAt(this.buffer, offset, got);
        if (check.kind === "record") {
          text.append(check.payload);
          offset += check.bytes;
          continue;
        }
        if (check.kind === "incomplete" && got === want && position + got < segmentEnd) {
          if (offset === 0) this.buffer = Buffer.allocUnsafe(this.buffer.length * 2); // a record larger than the buffer
          break;
        }
        // Nothing after a bad header can be trusted in this segment: skip to its end.
        corrupt.push({ position: position + offset, reason: check.kind === "corrupt" ? check.reason : "record runs past its segment" });
        offset = segmentEnd - position;
        break;
      }
      if (offset === got && got < want) {
        // The file ends before the stream's next position (a lost tail, or SpoolWriter.skipTo).
        corrupt.push({ position: position + got, reason: "segment ends before the next one starts" });
        offset = segmentEnd - position;
      }
      position += offset;
    }
    return { lines: text.done(), from: first, to: position, corrupt };
  }

  private fileFor(base: number): number {
    if (this.open?.base === base) return this.open.fd;
    this.close();
    const fd = openSync(join(this.dir, segmentFileName(base)), "r");
    this.open = { base, fd };
    return fd;
  }

  close(): void {
    if (this.open) closeSync(this.open.fd);
    this.open = undefined;
  }
}

/**
 * Records' payloads copied into one buffer, "\n" between them, counting lines as they come: no
 * string per line, and a store that parses the text itself gets it in one piece.
 */
class LinesBuffer {
  private bytes: Buffer;
  private length = 0;
  count = 0;

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Empties it for the next batch, with room for at least `capacity` bytes. */
  reset(capacity: number): this {
    if (capacity > this.bytes.length) this.bytes = Buffer.allocUnsafe(capacity);
    this.length = 0;
    this.count = 0;
    return this;
  }

  append(payload: Buffer): void {
    const separator = this.count > 0 ? 1 : 0;
    const needed = this.length + separator + payload.length;
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    if (separator) this.bytes[this.length++] = NEWLINE;
    this.length += payload.copy(this.bytes, this.length);
    this.count++;
    for (let at = payload.indexOf(NEWLINE); at !== -1; at = payload.indexOf(NEWLINE, at + 1)) this.count++;
  }

  done(): SpooledLines {
    return { text: this.bytes.subarray(0, this.length), count: this.count };
  }
}

const NEWLINE = 0x0a;

function lastIndexAtOrBelow(sorted: readonly number[], value: number): number {
  let index = -1;
  for (let i = 0; i < sorted.length && sorted[i] <= value; i++) index = i;
  return index;
}

function readFully(fd: number, buffer: Buffer, length: number, filePosition: number): number {
  let filled = 0;
  while (filled < length) {
    const read = readSync(fd, buffer, filled, length - filled, filePosition + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled;
}
