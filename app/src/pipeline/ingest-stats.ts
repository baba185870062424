import { REJECT_REASONS, type RejectReason } from "../protocol/event";

type ByReason = Record<RejectReason, number>;
const zeroByReason = (): ByReason => Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as ByReason;

/**
 * Plain counters the hot path increments (cheaper than labelled prom-client calls); the
 * metrics registry and the data-quality API read them.
 */
export class IngestStats {
  datagrams = 0;
  /** Non-empty lines seen, i.e. events received before validation. */
  events = 0;
  accepted = 0;
  readonly rejectedEvents: ByReason = zeroByReason();
  readonly rejectedDatagrams: ByReason = zeroByReason();
  storeErrors = 0;
  storedEvents = 0;
  spoolWriteErrors = 0;
  /** Records skipped on replay because their checksum failed (torn tails are cut at open). */
  spoolCorruptRecords = 0;

  rejectEvent(reason: RejectReason): void {
    this.rejectedEvents[reason]++;
  }

  rejectDatagram(reason: RejectReason): void {
    this.rejectedDatagrams[reason]++;
  }
}
