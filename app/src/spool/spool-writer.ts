import { randomUUID } from "node:crypto";
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
  writevSync,
} from "node:fs";
import { join } from "node:path";
import { RECORD_HEADER_BYTES, SEGMENT_MAGIC, recordAt, recordHeader, segmentBaseOf, segmentFileName } from "./record-format";

/** Slots of SpoolWriter.shared. */
export const SYNCED_END = 0;
export const FLUSH_UP_TO = 1;

export interface SpoolWriterOptions {
  readonly dir: string;
  /** Most bytes the spool's segments may hold on disk; beyond it appends are refused. */
  readonly maxBytes: number;
  /** A segment is sealed and a new one started past this size. */
  readonly segmentBytes: number;
  /**
   * fdatasync the open segment this often while it has unsynced writes. The consumer only sees
   * synced records, so the store never holds a position the spool could lose in a host crash.
   * 0: no periodic sync, records are visible at once (a host crash may then cut the spool
   * below what the store holds; see SpoolWriter.skipTo).
   */
  readonly fsyncIntervalMs: number;
}

/** The spool as operators see it (metrics, /readyz, the quality API). */
export interface SpoolStatus {
  readonly diskBytes: number;
  readonly maxBytes: number;
  /** Spooled bytes the store does not hold yet. */
  readonly backlogBytes: number;
  readonly segments: number;
}

/** What recovery found at the end of the newest segment when the spool was opened. */
export interface TornTail {
  readonly segment: string;
  /** Offset in the file where the last complete record ended; the file is cut back to it. */
  readonly keptBytes: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

/** Lists segment bases in order. */
export function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map(segmentBaseOf)
    .filter((base): base is number => base !== undefined)
    .sort((a, b) => a - b);
}

/**
 * The spool's single writer (the receiving thread). A record is appended with one writev, so
 * once `append` returns its bytes are in the kernel: a SIGKILL of this process cannot lose
 * them (a host crash can lose what was not yet fsynced, at most fsyncIntervalMs).
 */
export class SpoolWriter {
  /**
   * Shared with the consumer's thread: [SYNCED_END] is the position up to which records are
   * synced and may be consumed; [FLUSH_UP_TO] asks the consumer to store up to there at once.
   */
  readonly shared = new Float64Array(new SharedArrayBuffer(16));
  private written: number;
  private segments: number[];
  private fd: number;
  private fileBytes: number;
  private syncing = false;
  private readonly syncTimer?: NodeJS.Timeout;

  private constructor(
    readonly options: SpoolWriterOptions,
    readonly spoolId: string,
    segments: number[],
    fd: number,
    fileBytes: number,
    readonly tornTail: TornTail | undefined,
  ) {
    this.segments = segments;
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.written = this.currentBase + (fileBytes - SEGMENT_MAGIC.length);
    // Synced at open, so everything on disk may be consumed.
    this.shared[SYNCED_END] = this.written;
    if (options.fsyncIntervalMs > 0) {
      this.syncTimer = setInterval(() => this.syncInBackground(), options.fsyncIntervalMs);
      this.syncTimer.unref();
    }
  }

  /** Opens (or creates) the spool in `dir`, cutting a torn record off the newest segment. */
  static open(options: SpoolWriterOptions): SpoolWriter {
    if (!(options.segmentBytes >= 1024)) throw new Error(`spool: segmentBytes ${options.segmentBytes} must be at least 1024`);
    if (!(options.maxBytes >= 2 * options.segmentBytes))
      throw new Error(`spool: maxBytes ${options.maxBytes} must be at least twice segmentBytes (${options.segmentBytes})`);
    mkdirSync(options.dir, { recursive: true });
    const spoolId = readOrCreateId(options.dir);
    let segments = listSegments(options.dir);
    if (segments.length === 0) {
      createSegment(options.dir, 0);
      segments = [0];
    }
    const base = segments[segments.length - 1];
    const path = join(options.dir, segmentFileName(base));
    const fd = openSync(path, "r+");
    const { keptBytes, torn } = recoverTail(fd, segmentFileName(base));
    // A crashed process may have left records in the page cache only: make them durable
    // before the consumer may store them.
    fdatasyncSync(fd);
    return new SpoolWriter(options, spoolId, segments, fd, keptBytes, torn);
  }

  private get currentBase(): number {
    return this.segments[this.segments.length - 1];
  }

  /** The position after the last appended record. */
  get end(): number {
    return this.written;
  }

  /** The position up to which records are synced and visible to the consumer. */
  get syncedEnd(): number {
    return this.shared[SYNCED_END];
  }

  /** Where the oldest segment still on disk starts. */
  get start(): number {
    return this.segments[0];
  }

  /** Bytes the segments hold on disk (records only). */
  get diskBytes(): number {
    return this.end - this.start;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Whether `bytes` more fit under maxBytes (a record adds its 8-byte header). */
  hasRoomFor(bytes: number): boolean {
    return this.diskBytes + bytes + RECORD_HEADER_BYTES <= this.options.maxBytes;
  }

  /**
   * Appends one record. On a failed write the segment is cut back, so a half-written record
   * never sits in front of later ones; the caller decides what the refusal means.
   */
  append(lines: readonly string[]): number {
    return this.appendPayload(Buffer.from(lines.join("\n"), "utf8"));
  }

  /** Appends one record whose payload is already "\n"-joined lines in UTF-8 (the intake's turn). */
  appendPayload(payload: Buffer): number {
    const header = recordHeader(payload);
    const bytes = header.length + payload.length;
    if (!this.hasRoomFor(payload.length)) throw new SpoolFullError(this.diskBytes, this.options.maxBytes);
    if (this.fileBytes + bytes > this.options.segmentBytes && this.fileBytes > SEGMENT_MAGIC.length) this.rotate();
    try {
      const written = writevSync(this.fd, [header, payload], this.fileBytes);
      if (written !== bytes) throw new Error(`short write: ${written} of ${bytes} bytes`);
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.fileBytes);
      } catch {
        // The next open cuts the torn record off instead.
      }
      throw error;
    }
    this.fileBytes += bytes;
    this.written += bytes;
    if (this.options.fsyncIntervalMs === 0) this.shared[SYNCED_END] = this.written;
    return this.written;
  }

  /**
   * Continues the stream at `position` in a new segment. Only for a store that holds more of
   * this spool than the disk does (a host crash with fsyncIntervalMs 0): reusing those
   * positions would make the store skip new records as already stored.
   */
  skipTo(position: number): void {
    if (position <= this.written) return;
    this.rotate(position);
  }

  /** Asks the consumer to store everything written so far without waiting for its interval. */
  requestFlush(): void {
    this.shared[FLUSH_UP_TO] = this.written;
    this.syncInBackground();
  }

  /** Deletes sealed segments that end at or before `committed` (everything in them is stored). */
  release(committed: number): number {
    let removed = 0;
    while (this.segments.length > 1 && this.segments[1] <= committed) {
      rmSync(join(this.options.dir, segmentFileName(this.segments[0])), { force: true });
      this.segments.shift();
      removed++;
    }
    return removed;
  }

  private rotate(base = this.written): void {
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    createSegment(this.options.dir, base);
    this.segments.push(base);
    this.fd = openSync(join(this.options.dir, segmentFileName(base)), "r+");
    this.fileBytes = SEGMENT_MAGIC.length;
    this.written = base;
    this.shared[SYNCED_END] = base;
  }

  /** Syncs off the event loop (libuv's pool), then lets the consumer see what was synced. */
  private syncInBackground(): void {
    if (this.syncing || this.shared[SYNCED_END] === this.written) return;
    this.syncing = true;
    const target = this.written;
    const fd = this.fd;
    fdatasync(fd, (error) => {
      this.syncing = false;
      // A rotation in the meantime synced everything before the new segment itself.
      if (!error && fd === this.fd) this.shared[SYNCED_END] = Math.max(this.shared[SYNCED_END], target);
    });
  }

  close(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.shared[SYNCED_END] = this.written;
  }
}

export class SpoolFullError extends Error {
  constructor(
    readonly diskBytes: number,
    readonly maxBytes: number,
  ) {
    super(`spool is full (${diskBytes} of ${maxBytes} bytes)`);
  }
}

function readOrCreateId(dir: string): string {
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

function createSegment(dir: string, base: number): void {
  const fd = openSync(join(dir, segmentFileName(base)), "wx");
  writeSync(fd, SEGMENT_MAGIC);
  fdatasyncSync(fd);
  closeSync(fd);
  syncDirectory(dir);
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

/**
 * Checks every record of the newest segment. The first incomplete or corrupt one, and anything
 * after it, is a torn write from a crash: the file is cut back to the last complete record.
 */
function recoverTail(fd: number, segment: string): { keptBytes: number; torn?: TornTail } {
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
