import { randomUUID } from "node:crypto";
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { SEGMENT_MAGIC, recordAt, segmentBaseOf, segmentFileName } from "./record-format";

/**
 * The spool directory as both sides see it: segment files named by their base position, and a
 * `spool-id` file naming this stream of positions. The writer creates segments, the reader
 * deletes them; neither imports the other.
 */

/** Lists segment bases in order. */
export function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map(segmentBaseOf)
    .filter((base): base is number => base !== undefined)
    .sort((a, b) => a - b);
}

/** The spool's id (stores key their committed positions by it), created on first use. */
export function readOrCreateSpoolId(dir: string): string {
  const path = join(dir, "spool-id");
  try {
    const id = readFileSync(path, "utf8").trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
    throw new Error(`spool: ${path} holds "${id.slice(0, 40)}", not a spool id; move the directory aside to start a new spool`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const id = randomUUID();
  writeFileSync(`${path}.tmp`, `${id}\n`);
  renameSync(`${path}.tmp`, path);
  syncDirectory(dir);
  return id;
}

/** Creates an empty segment (its magic synced, and its directory entry). */
export function createSegment(dir: string, base: number): void {
  const fd = openSync(join(dir, segmentFileName(base)), "wx");
  writeSync(fd, SEGMENT_MAGIC);
  fdatasyncSync(fd);
  closeSync(fd);
  syncDirectory(dir);
}

/**
 * Deletes the sealed segments that end at or before `committed` (everything in them is stored)
 * and returns where the oldest remaining segment starts. The newest segment is never deleted.
 */
export function deleteCommittedSegments(dir: string, committed: number): number {
  const segments = listSegments(dir);
  let oldest = 0;
  while (oldest + 1 < segments.length && segments[oldest + 1] <= committed) {
    rmSync(join(dir, segmentFileName(segments[oldest])), { force: true });
    oldest++;
  }
  return segments[oldest] ?? 0;
}

/** Makes a created or renamed file's directory entry durable too. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What recovery found at the end of the newest segment when the spool was opened. */
export interface TornTail {
  readonly segment: string;
  /** Offset in the file where the last complete record ended; the file is cut back to it. */
  readonly keptBytes: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

/**
 * Checks every record of the newest segment. The first incomplete or corrupt one, and anything
 * after it, is a torn write from a crash: the file is cut back to the last complete record.
 */
export function recoverTail(fd: number, segment: string): { keptBytes: number; torn?: TornTail } {
  const size = fstatSync(fd).size;
  const content = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) filled += readSync(fd, content, filled, size - filled, filled);
  if (size < SEGMENT_MAGIC.length || !content.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
    // Created but its magic never fully landed: nothing in it was ever acknowledged.
    ftruncateSync(fd, 0);
    writeSync(fd, SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    fdatasyncSync(fd);
    const torn = size > 0 ? { segment, keptBytes: 0, droppedBytes: size, reason: "segment header incomplete" } : undefined;
    return { keptBytes: SEGMENT_MAGIC.length, torn };
  }
  let offset = SEGMENT_MAGIC.length;
  while (offset < size) {
    const check = recordAt(content, offset);
    if (check.kind === "record") {
      offset += check.bytes;
      continue;
    }
    const reason = check.kind === "incomplete" ? "record cut short" : check.reason;
    ftruncateSync(fd, offset);
    fdatasyncSync(fd);
    return { keptBytes: offset, torn: { segment, keptBytes: offset, droppedBytes: size - offset, reason } };
  }
  return { keptBytes: offset };
}
