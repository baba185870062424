import type { RejectReason } from "../protocol/event";
import { zeroByReason } from "../telemetry";
import type { DedupeWindow } from "./dedupe-window";
import type { SourceLimiter } from "./source-limiter";
import type { SpoolIntake } from "./spool-intake";

export interface AdmissionOptions {
  /** Events whose client time is further than this from the collector's clock are rejected. */
  readonly maxSkewMs: number;
  /** Per-source rate and session limits; off when absent. */
  readonly limiter?: SourceLimiter;
}

/** What admission counts: its own refusals, by reason. */
export class AdmissionTelemetry {
  readonly rejectedEvents = zeroByReason();
}

/**
 * skew → rate limit → room → dedupe → the spool intake, for each valid event. Ids are staged in
 * the dedupe window and kept only once the turn's spool write succeeded: the write's result
 * comes back here as a return value, so the spool never calls back into dedupe.
 */
export class Admission {
  readonly telemetry = new AdmissionTelemetry();
  private now = 0;
  private source?: ReturnType<SourceLimiter["source"]>;
  private turnScheduled = false;
  private readonly endTurnSoon = () => this.endTurn();

  constructor(
    private readonly dedupe: DedupeWindow,
    private readonly intake: SpoolIntake,
    private readonly options: AdmissionOptions,
  ) {}

  /** Called once per datagram before its events: the clock and the sender's limiter entry. */
  beginDatagram(sourceAddress: string, now: number): void {
    this.now = now;
    this.source = this.options.limiter?.source(sourceAddress, now);
  }

  /** Whether the limiter needs each event's session id (otherwise it is never decoded). */
  get needsSession(): boolean {
    return this.source !== undefined;
  }

  /** The event's wire line is bytes [start, end) of `buffer`, valid only during the call. */
  admit(buffer: Buffer, start: number, end: number, t: number, idHigh: number, idLow: number, sid: string): void {
    const skew = t - this.now;
    if (skew > this.options.maxSkewMs || skew < -this.options.maxSkewMs) return this.refuse("skew");
    if (this.source && !this.options.limiter!.admit(this.source, sid)) return this.refuse("rate_limited");
    // Room is checked before the id is remembered, so a retry after overload is not a "duplicate".
    if (!this.intake.hasRoom) return this.refuse("overload");
    if (this.dedupe.seenOrStageFingerprint(idHigh, idLow, this.now)) return this.refuse("duplicate");
    this.intake.add(buffer, start, end);
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.endTurnSoon);
    }
  }

  /**
   * Writes the turn's events to the spool as one record, then keeps their ids or, if the write
   * failed, forgets them. Runs after each event-loop turn that admitted events, and on flush
   * and shutdown.
   */
  endTurn(): void {
    this.turnScheduled = false;
    if (this.intake.flush()) this.dedupe.commitStaged();
    else this.dedupe.dropStaged();
  }

  private refuse(reason: RejectReason): void {
    this.telemetry.rejectedEvents[reason]++;
  }
}
