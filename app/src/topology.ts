import type { Logger } from "pino";
import type { CollectorConfig } from "./config";
import type { AdmissionTables } from "./metrics";
import { Admission } from "./pipeline/admission";
import { DecodeStage } from "./pipeline/decode-stage";
import { DedupeWindow } from "./pipeline/dedupe-window";
import { SourceLimiter } from "./pipeline/source-limiter";
import { SpoolIntake } from "./pipeline/spool-intake";
import { datagramDecoder } from "./protocol/native-decode";
import { parseSigningKeys } from "./protocol/signing";
import { UdpSource } from "./source/udp-source";
import type { SpoolWriter } from "./spool/spool-writer";
import type { SinkTelemetry } from "./store/store-handle";
import type { StageTelemetry } from "./telemetry";

/**
 * The receiving thread's half of the collector, built downstream first so that each stage is
 * given only the stage after it:
 *
 *   UdpSource → DecodeStage → Admission → SpoolIntake → SpoolWriter ⇢ (ledger) ⇢ store thread
 *
 * Nothing flows back except return values: admission learns whether the turn's spool write
 * succeeded from SpoolIntake.flush's result.
 */
export interface IngestTopology {
  readonly source: UdpSource;
  readonly decode: DecodeStage;
  readonly admission: Admission;
  readonly intake: SpoolIntake;
  /** The admission stage's bounded tables, for scrapes. */
  tables(): AdmissionTables;
  /** Each stage's own counters, live (read them; never write). */
  readonly telemetry: StageTelemetry;
}

export function buildIngestTopology(config: CollectorConfig, spool: SpoolWriter, sink: SinkTelemetry, log: Logger): IngestTopology {
  const intake = new SpoolIntake(spool, log);
  const dedupe = new DedupeWindow({ windowMs: config.dedupeWindowMs, maxEntries: config.dedupeMaxEntries }, Date.now());
  const limiter = new SourceLimiter({
    eventsPerSecond: config.sourceEventsPerSecond,
    burst: config.sourceBurst,
    maxSessionsPerSource: config.sourceMaxSessions,
    maxSources: config.maxSources,
  });
  const admission = new Admission(dedupe, intake, { maxSkewMs: config.maxSkewMs, limiter });
  const decode = new DecodeStage(admission, {
    maxDatagramBytes: config.maxDatagramBytes,
    auth: config.authKeys
      ? {
          keys: parseSigningKeys(config.authKeys),
          maxAgeMs: config.authMaxAgeMs,
          // Seen MACs, remembered for twice the freshness window and bounded like the dedupe table.
          replays: new DedupeWindow({ windowMs: 2 * config.authMaxAgeMs, maxEntries: config.dedupeMaxEntries }, Date.now()),
        }
      : undefined,
    decoder: datagramDecoder(config.decoder),
  });
  const source = new UdpSource(
    {
      hosts: config.udpHosts,
      port: config.udpPort,
      recvBufferBytes: config.recvBufferBytes,
      receiver: config.udpReceiver,
      maxDatagramBytes: config.maxDatagramBytes,
    },
    decode,
    log,
  );
  return {
    source,
    decode,
    admission,
    intake,
    tables: () => ({
      dedupeEntries: dedupe.size,
      dedupeMaxEntries: config.dedupeMaxEntries,
      dedupeEvictions: dedupe.evictions,
      sources: limiter.size,
      maxSources: config.maxSources,
      sourceEvictions: limiter.evictions,
    }),
    telemetry: { decode: decode.telemetry, admission: admission.telemetry, spool: intake.telemetry, sink },
  };
}
