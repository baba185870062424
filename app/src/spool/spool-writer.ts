import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, writevSync } from "node:fs";
import { join } from "node:path";
import { SpoolLedger } from "./ledger";
import { RECORD_HEADER_BYTES, SEGMENT_MAGIC, recordHeader, segmentFileName } from "./record-format";
import { createSegment, listSegments, readOrCreateSpoolId, recoverTail, type TornTail } from "./segments";

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
   * below what the store holds; see storedUpTo).
   */
  readonly fsyncIntervalMs: number;
  /**
   * Where the store's copy of this spool ends, when known at open. Only with fsyncIntervalMs 0
   * can it lie past the disk's end (a host crash lost records the store has); the stream then
   * continues after it, since reusing those positions would make the store skip new records as
   * already stored. Decided here, once, before anything is appended.
   */
  readonly storedUpTo?: number;
}

/** The spool as operators see it (metrics, /readyz, the quality API). */
export interface SpoolStatus {
  readonly diskBytes: number;
  readonly maxBytes: number;
  /** Spooled bytes the store does not hold yet. */
  readonly backlogBytes: number;
  readonly segments: number;
}

export type { TornTail } from "./segments";

/**
 * The spool's single writer (the receiving thread): it creates segment files and appends to the
 * newest; the reader deletes them once stored (see SpoolLedger). A record is appended with one
 * writev, so once `append` returns its bytes are in the kernel: a SIGKILL of this process cannot
 * lose them (a host crash can lose what was not yet fsynced, at most fsyncIntervalMs).
 */
export class SpoolWriter {
  /** Shared with the consumer's thread; this side writes `written`, `synced` and `flushUpTo`. */
  readonly ledger = new SpoolLedger();
  private fd: number;
  private fileBytes: number;
  private syncing = false;
  private readonly syncTimer?: NodeJS.Timeout;

  private constructor(
    readonly options: SpoolWriterOptions,
    readonly spoolId: string,
    oldestBase: number,
    currentBase: number,
    fd: number,
    fileBytes: number,
    readonly tornTail: TornTail | undefined,
  ) {
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.ledger.written = currentBase + (fileBytes - SEGMENT_MAGIC.length);
    // Synced at open, so everything on disk may be consumed; below the oldest segment is stored.
    this.ledger.synced = this.ledger.written;
    this.ledger.oldestSegment = oldestBase;
    this.ledger.committed = oldestBase;
    if (options.storedUpTo !== undefined && options.storedUpTo > this.ledger.written) this.rotate(options.storedUpTo);
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
    const spoolId = readOrCreateSpoolId(options.dir);
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
    return new SpoolWriter(options, spoolId, segments[0], base, fd, keptBytes, torn);
  }

  /** The position after the last appended record. */
  get end(): number {
    return this.ledger.written;
  }

  /** The position up to which records are synced and visible to the consumer. */
  get syncedEnd(): number {
    return this.ledger.synced;
  }

  /** Bytes the segments hold on disk (records only), as far as the reader has deleted. */
  get diskBytes(): number {
    return this.ledger.diskBytes;
  }

  /** Segment files on disk now (listed: for scrapes, not the hot path). */
  get segmentCount(): number {
    return listSegments(this.options.dir).length;
  }

  status(): SpoolStatus {
    return {
      diskBytes: this.diskBytes,
      maxBytes: this.options.maxBytes,
      backlogBytes: this.ledger.backlogBytes,
      segments: this.segmentCount,
    };
  }

  /** Whether `bytes` more fit under maxBytes (a record adds its 8-byte header). */
  hasRoomFor(bytes: number): boolean {
    return this.ledger.diskBytes + bytes + RECORD_HEADER_BYTES <= this.options.maxBytes;
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
    const end = this.ledger.written + bytes;
    this.ledger.written = end;
    if (this.options.fsyncIntervalMs === 0) this.ledger.synced = end;
    return end;
  }

  /** Asks the consumer to store everything written so far without waiting for its interval. */
  requestFlush(): void {
    this.ledger.flushUpTo = this.ledger.written;
    this.syncInBackground();
  }

  private rotate(base = this.ledger.written): void {
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    createSegment(this.options.dir, base);
    this.fd = openSync(join(this.options.dir, segmentFileName(base)), "r+");
    this.fileBytes = SEGMENT_MAGIC.length;
    this.ledger.written = base;
    this.ledger.synced = base;
  }

  /** Syncs off the event loop (libuv's pool), then lets the consumer see what was synced. */
  private syncInBackground(): void {
    if (this.syncing || this.ledger.synced === this.ledger.written) return;
    this.syncing = true;
    const target = this.ledger.written;
    const fd = this.fd;
    fdatasync(fd, (error) => {
      this.syncing = false;
      // A rotation in the meantime synced everything before the new segment itself.
      if (!error && fd === this.fd) this.ledger.synced = Math.max(this.ledger.synced, target);
    });
  }

  close(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.ledger.synced = this.ledger.written;
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
