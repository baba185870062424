import type { Logger } from "pino";
import type { SpoolWriter } from "../spool/spool-writer";

/** What the spool stage counts. */
export class SpoolTelemetry {
  /** Events appended: from then on a crash cannot lose them. */
  accepted = 0;
  /** Events of turns whose append failed (refused as overload). */
  refused = 0;
  writeErrors = 0;
}

/** Headroom kept below the spool's bound for a turn's record header. */
const HEADROOM_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const INITIAL_TURN_BYTES = 256 * 1024;

/**
 * Collects the lines admitted in one event-loop turn and appends them to the spool as one
 * record (one syscall per turn, not per datagram). The lines' bytes are copied straight from
 * the receive buffer, so nothing is re-encoded. An event counts as accepted only once its
 * record is written: from then on a crash cannot lose it. If the write fails, the turn's
 * events are refused and counted as `overload`, like a full spool; `flush` says so to its caller.
 */
export class SpoolIntake {
  readonly telemetry = new SpoolTelemetry();
  /** This turn's lines, "\n"-joined; grows as needed and is reused across turns. */
  private turn = Buffer.allocUnsafe(INITIAL_TURN_BYTES);
  private turnBytes = 0;
  private turnEvents = 0;
  private lastErrorLogAt = 0;

  constructor(
    private readonly writer: SpoolWriter,
    private readonly log: Logger,
  ) {}

  /** False when the spool cannot take more: admission refuses with `overload`. */
  get hasRoom(): boolean {
    return this.writer.hasRoomFor(this.turnBytes + HEADROOM_BYTES);
  }

  /** The event's wire line is bytes [start, end) of `buffer`, which may be reused after the call. */
  add(buffer: Buffer, start: number, end: number): void {
    const needed = this.turnBytes + 1 + end - start;
    if (needed > this.turn.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.turn.length));
      this.turn.copy(grown, 0, 0, this.turnBytes);
      this.turn = grown;
    }
    if (this.turnBytes > 0) this.turn[this.turnBytes++] = NEWLINE;
    this.turnBytes += buffer.copy(this.turn, this.turnBytes, start, end);
    this.turnEvents++;
  }

  /** Appends this turn's lines as one record; false when the append failed and they were refused. */
  flush(): boolean {
    const events = this.turnEvents;
    if (events === 0) return true;
    const payload = this.turn.subarray(0, this.turnBytes);
    this.turnBytes = 0;
    this.turnEvents = 0;
    try {
      // Written synchronously, so the turn buffer is free again when this returns.
      this.writer.appendPayload(payload);
      this.telemetry.accepted += events;
      return true;
    } catch (error) {
      this.telemetry.refused += events;
      this.telemetry.writeErrors++;
      if (Date.now() - this.lastErrorLogAt > 5_000) {
        this.lastErrorLogAt = Date.now();
        this.log.error({ err: error, refused: events }, "spool append failed; refusing events as overload");
      }
      return false;
    }
  }
}
