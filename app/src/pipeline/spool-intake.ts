import type { Logger } from "pino";
import type { SpoolWriter } from "../spool/spool-writer";
import type { IngestStats } from "./ingest-stats";

/** Where the ingest pipeline hands events that passed every check. */
export interface AcceptedEvents {
  /** False when the spool cannot take more: the pipeline refuses with `overload`. */
  readonly hasRoom: boolean;
  /**
   * The event's wire line is bytes [start, end) of `buffer`, which may be reused after the call;
   * idHigh and idLow are its id's fingerprint (see DedupeWindow).
   */
  add(buffer: Buffer, start: number, end: number, idHigh: number, idLow: number): void;
}

/** Headroom kept below the spool's bound for a turn's record header. */
const HEADROOM_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const INITIAL_TURN_BYTES = 256 * 1024;

/**
 * Collects the lines accepted in one event-loop turn and appends them to the spool as one
 * record (one syscall per turn, not per datagram). The lines' bytes are copied straight from
 * the receive buffer, so nothing is re-encoded. An event counts as accepted only once its
 * record is written: from then on a crash cannot lose it. If the write fails, the turn's
 * events are refused and counted as `overload`, like a full spool, and their ids are given
 * back to the dedupe window so a retry is not dropped as a duplicate.
 */
export class SpoolIntake implements AcceptedEvents {
  /** This turn's lines, "\n"-joined; grows as needed and is reused across turns. */
  private turn = Buffer.allocUnsafe(INITIAL_TURN_BYTES);
  private turnBytes = 0;
  /** Fingerprints of this turn's ids, high and low in turn; reused across turns. */
  private readonly pendingFingerprints: number[] = [];
  private scheduled = false;
  private lastErrorLogAt = 0;

  constructor(
    private readonly writer: SpoolWriter,
    private readonly stats: IngestStats,
    private readonly log: Logger,
    /** Told the id fingerprint of each event a failed write refused, so a client's retry is not taken for a duplicate. */
    private readonly onRefused: (idHigh: number, idLow: number) => void = () => undefined,
  ) {}

  get hasRoom(): boolean {
    return this.writer.hasRoomFor(this.turnBytes + HEADROOM_BYTES);
  }

  add(buffer: Buffer, start: number, end: number, idHigh: number, idLow: number): void {
    const needed = this.turnBytes + 1 + end - start;
    if (needed > this.turn.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.turn.length));
      this.turn.copy(grown, 0, 0, this.turnBytes);
      this.turn = grown;
    }
    if (this.turnBytes > 0) this.turn[this.turnBytes++] = NEWLINE;
    this.turnBytes += buffer.copy(this.turn, this.turnBytes, start, end);
    this.pendingFingerprints.push(idHigh, idLow);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what this turn accepted; also called on shutdown after the source has stopped. */
  flush(): void {
    this.scheduled = false;
    const fingerprints = this.pendingFingerprints;
    const events = fingerprints.length / 2;
    if (events === 0) return;
    const payload = this.turn.subarray(0, this.turnBytes);
    this.turnBytes = 0;
    try {
      // Written synchronously, so the turn buffer is free again when this returns.
      this.writer.appendPayload(payload);
      this.stats.accepted += events;
    } catch (error) {
      for (let i = 0; i < events; i++) this.stats.rejectEvent("overload");
      this.stats.spoolWriteErrors++;
      for (let i = 0; i < fingerprints.length; i += 2) this.onRefused(fingerprints[i], fingerprints[i + 1]);
      if (Date.now() - this.lastErrorLogAt > 5_000) {
        this.lastErrorLogAt = Date.now();
        this.log.error({ err: error, refused: events }, "spool append failed; refusing events as overload");
      }
    } finally {
      fingerprints.length = 0;
    }
  }
}
