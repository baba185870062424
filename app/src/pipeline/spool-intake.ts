import type { Logger } from "pino";
import type { SpoolWriter } from "../spool/spool-writer";
import type { IngestStats } from "./ingest-stats";

/** Where the ingest pipeline hands events that passed every check. */
export interface AcceptedEvents {
  /** False when the spool cannot take more: the pipeline refuses with `overload`. */
  readonly hasRoom: boolean;
  add(line: string, id: string): void;
}

/** Headroom kept below the spool's bound for a turn's record header and multi-byte characters. */
const HEADROOM_BYTES = 64 * 1024;

/**
 * Collects the lines accepted in one event-loop turn and appends them to the spool as one
 * record (one syscall per turn, not per datagram). An event counts as accepted only once its
 * record is written: from then on a crash cannot lose it. If the write fails, the turn's
 * events are refused and counted as `overload`, like a full spool, and their ids are given
 * back to the dedupe window so a retry is not dropped as a duplicate.
 */
export class SpoolIntake implements AcceptedEvents {
  private pending: string[] = [];
  private pendingIds: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private lastErrorLogAt = 0;

  constructor(
    private readonly writer: SpoolWriter,
    private readonly stats: IngestStats,
    private readonly log: Logger,
    /** Told the ids of events a failed write refused, so a client's retry is not taken for a duplicate. */
    private readonly onRefused: (ids: readonly string[]) => void = () => undefined,
  ) {}

  get hasRoom(): boolean {
    return this.writer.hasRoomFor(this.pendingBytes + HEADROOM_BYTES);
  }

  add(line: string, id: string): void {
    this.pending.push(line);
    this.pendingIds.push(id);
    this.pendingBytes += line.length + 1;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what this turn accepted; also called on shutdown after the source has stopped. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    const ids = this.pendingIds;
    this.pending = [];
    this.pendingIds = [];
    this.pendingBytes = 0;
    try {
      this.writer.append(lines);
      this.stats.accepted += lines.length;
    } catch (error) {
      for (let i = 0; i < lines.length; i++) this.stats.rejectEvent("overload");
      this.stats.spoolWriteErrors++;
      this.onRefused(ids);
      if (Date.now() - this.lastErrorLogAt > 5_000) {
        this.lastErrorLogAt = Date.now();
        this.log.error({ err: error, refused: lines.length }, "spool append failed; refusing events as overload");
      }
    }
  }
}
