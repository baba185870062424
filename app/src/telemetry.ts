import { REJECT_REASONS, type RejectReason } from "./protocol/event";

export type CountByReason = Record<RejectReason, number>;

/** A count per reject reason, all zero: stages increment their own reasons' fields. */
export const zeroByReason = (): CountByReason => Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as CountByReason;

/**
 * What the whole process has counted, summed over its stages when read (the quality API, the
 * lab, tests). The stages themselves only increment plain numeric fields on the hot path.
 */
export interface ProcessCounters {
  /** UDP datagrams handed to decoding. */
  readonly datagrams: number;
  /** Non-empty lines seen, i.e. events received before validation. */
  readonly events: number;
  /** Events appended to the spool: from then on a crash cannot lose them. */
  readonly accepted: number;
  readonly rejectedEvents: CountByReason;
  readonly rejectedDatagrams: CountByReason;
  readonly storedEvents: number;
  /** Failed batch writes (retried from the spool). */
  readonly storeErrors: number;
  /** Spool appends that failed (their events refused as overload). */
  readonly spoolWriteErrors: number;
  /** Records skipped on replay because their checksum failed (torn tails are cut at open). */
  readonly spoolCorruptRecords: number;
}

/** The stages' own telemetry, as each one counts it. */
export interface StageTelemetry {
  readonly decode: {
    readonly datagrams: number;
    readonly lines: number;
    readonly rejectedEvents: CountByReason;
    readonly rejectedDatagrams: CountByReason;
  };
  readonly admission: { readonly rejectedEvents: CountByReason };
  readonly spool: { readonly accepted: number; readonly refused: number; readonly writeErrors: number };
  readonly sink: { readonly stored: number; readonly errors: number; readonly corrupt: number };
}

/** Sums the stages into the process's counters (a rejection reason belongs to one stage, except overload). */
export function processCounters(stages: StageTelemetry): ProcessCounters {
  const rejectedEvents = zeroByReason();
  for (const reason of REJECT_REASONS)
    rejectedEvents[reason] = stages.decode.rejectedEvents[reason] + stages.admission.rejectedEvents[reason];
  rejectedEvents.overload += stages.spool.refused;
  return {
    datagrams: stages.decode.datagrams,
    events: stages.decode.lines,
    accepted: stages.spool.accepted,
    rejectedEvents,
    rejectedDatagrams: { ...stages.decode.rejectedDatagrams },
    storedEvents: stages.sink.stored,
    storeErrors: stages.sink.errors,
    spoolWriteErrors: stages.spool.writeErrors,
    spoolCorruptRecords: stages.sink.corrupt,
  };
}
