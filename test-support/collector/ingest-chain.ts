import pino from "pino";
import { Admission } from "../../app/src/pipeline/admission";
import { DecodeStage } from "../../app/src/pipeline/decode-stage";
import { DedupeWindow } from "../../app/src/pipeline/dedupe-window";
import { SpoolIntake } from "../../app/src/pipeline/spool-intake";
import type { DatagramDecoder } from "../../app/src/protocol/native-decode";
import type { SpoolWriter } from "../../app/src/spool/spool-writer";
import { SinkTelemetry } from "../../app/src/store/store-handle";
import { processCounters, type ProcessCounters } from "../../app/src/telemetry";

/** decode → admission → spool intake over a real spool, without a socket, at a fixed clock. */
export function ingestChain(spool: SpoolWriter, options: { decoder: DatagramDecoder; now: number; dedupeMaxEntries?: number }) {
  const intake = new SpoolIntake(spool, pino({ level: "silent" }));
  const dedupe = new DedupeWindow({ windowMs: 60_000, maxEntries: options.dedupeMaxEntries ?? 1000 }, options.now);
  const admission = new Admission(dedupe, intake, { maxSkewMs: 600_000 });
  const decode = new DecodeStage(admission, { maxDatagramBytes: 8192, decoder: options.decoder }, () => options.now);
  const telemetry = { decode: decode.telemetry, admission: admission.telemetry, spool: intake.telemetry, sink: new SinkTelemetry() };
  return {
    decode,
    /** Ends the event-loop turn now: the spool write, then dedupe keeps or drops the turn's ids. */
    endTurn: () => admission.endTurn(),
    counters: (): ProcessCounters => processCounters(telemetry),
  };
}
