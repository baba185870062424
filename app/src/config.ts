import { z } from "zod";
import { DEFAULT_MAX_DATAGRAM_BYTES, MAX_DATAGRAM_BYTES } from "./protocol/event";
import { DECODERS } from "./protocol/native-decode";
import { UDP_RECEIVERS } from "./source/udp-source";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();

/** Every setting of `collector serve`, from flags or COLLECTOR_* environment variables. */
export const collectorConfigSchema = z
  .object({
    udpPort: port.default(8125),
    udpHosts: z
      .union([z.string(), z.array(z.string())])
      .transform((value) => (Array.isArray(value) ? value : value.split(",").map((host) => host.trim())).filter(Boolean))
      .pipe(z.array(z.union([z.ipv4(), z.ipv6()])).min(1))
      .default(["0.0.0.0", "::"]),
    recvBufferBytes: positive.optional(),
    /** recvmmsg: the native batch receiver (Linux, `npm run build:native`); dgram: Node's own, portable and slower. */
    udpReceiver: z.enum(UDP_RECEIVERS).default("recvmmsg"),
    /** native: plain lines are validated in C (the addon), others by JSON.parse; js: JSON.parse for every line. */
    decoder: z.enum(DECODERS).default("native"),
    maxDatagramBytes: positive.max(MAX_DATAGRAM_BYTES).default(DEFAULT_MAX_DATAGRAM_BYTES),
    maxSkewMs: positive.default(10 * 60_000),
    dedupeWindowMs: positive.default(10 * 60_000),
    /**
     * Most ids remembered. The two tables are allocated up front, 16 bytes per entry with the
     * count rounded up to a power of two (32 MiB at the default), so they never grow and rehash
     * on the receiving thread.
     */
    dedupeMaxEntries: positive.min(2).max(64 * 1024 * 1024).default(2_000_000),
    /**
     * Most events per store write. Writes are this big only when the store is behind (otherwise
     * flushIntervalMs cuts them); at least one DuckDB row group (122 880 rows), so DuckDB writes
     * a full batch straight into the database file instead of through its WAL first.
     */
    batchSize: positive.default(131_072),
    flushIntervalMs: positive.default(200),
    /** First wait after a failed store write; doubles up to 30 s. */
    storeRetryBaseMs: positive.default(200),
    /** Accepted events are appended here before they are stored (put it on a persistent volume). */
    spoolDir: z.string().min(1).default("spool"),
    /** The spool's bound on disk. Full: new events are refused as `overload`; accepted ones are never dropped. */
    spoolMaxBytes: positive.default(1024 * 1024 * 1024),
    spoolSegmentBytes: positive.min(1024).default(64 * 1024 * 1024),
    /**
     * fdatasync interval for the open segment: what a host crash (not a process crash) may lose.
     * Records become visible to the store after their sync, so this adds to the visibility delay.
     */
    spoolFsyncIntervalMs: z.coerce.number().int().nonnegative().default(100),
    /** /readyz reports not ready once the spool is this full (a signal to shed load to other pods). */
    spoolReadyMaxRatio: z.coerce.number().gt(0).max(1).default(0.9),
    /** Per source address: sustained events/s, burst, and new sessions per minute. */
    sourceEventsPerSecond: positive.default(20_000),
    sourceBurst: positive.default(40_000),
    sourceMaxSessions: positive.default(5_000),
    maxSources: positive.default(100_000),
    httpPort: port.default(8080),
    httpHost: z.string().min(1).default("0.0.0.0"),
    store: z.enum(["duckdb", "clickhouse"]).default("duckdb"),
    duckdbPath: z.string().min(1).default("collector.duckdb"),
    /** DuckDB's worker threads: more speed up big insight queries but compete with UDP receive. */
    duckdbThreads: positive.default(1),
    /** WAL size (MiB) that triggers a DuckDB checkpoint; unset: the store's default, 32 (see DuckDbStoreOptions). */
    duckdbCheckpointMegabytes: positive.optional(),
    /**
     * Nice value of the store's threads (0 leaves them at the receiving thread's priority): the
     * spool lets the store lag, while a receiving thread kept off the CPU drops datagrams.
     */
    storeNice: z.coerce.number().int().min(0).max(19).default(10),
    /**
     * Freed heap memory (MiB) the process keeps for reuse rather than returning it to the
     * system; blocks up to a quarter of it come from the heap, not a fresh mmap. The store's
     * large batches then reuse warm pages. 0 leaves the C library's defaults.
     */
    mallocRetainMegabytes: z.coerce.number().int().min(0).max(2047).default(256),
    /** For store=clickhouse: the HTTP endpoint, e.g. http://clickhouse-streamstats:8123. */
    clickhouseUrl: z.url().optional(),
    clickhouseDatabase: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default("streamstats"),
    clickhouseUser: z.string().min(1).default("default"),
    /** From a Secret or the environment (COLLECTOR_CLICKHOUSE_PASSWORD), never a flag in a manifest. */
    clickhousePassword: z.string().default(""),
    /** Set when ClickHouse runs as a cluster: replicated tables plus Distributed. */
    clickhouseCluster: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
    shutdownTimeoutMs: positive.default(10_000),
    /** Datagram signing keys "kid:base64,kid2:base64" (COLLECTOR_AUTH_KEYS, from a Secret). Set: unsigned datagrams are refused. */
    authKeys: z.string().min(1).optional(),
    /** Refuse to start without authKeys (the chart sets this in production). */
    authRequired: z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]).default(false),
    /** How old (or far ahead) a signed datagram's timestamp may be. */
    authMaxAgeMs: positive.default(30_000),
    /** Bearer token for the API and dashboard (COLLECTOR_API_TOKEN, from a Secret); unset means open (lab). */
    apiToken: z.string().min(16, "must be at least 16 characters").optional(),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict()
  .refine((config) => config.spoolMaxBytes >= 2 * config.spoolSegmentBytes, {
    message: "must be at least twice spoolSegmentBytes",
    path: ["spoolMaxBytes"],
  })
  .refine((config) => config.store !== "clickhouse" || config.clickhouseUrl !== undefined, {
    message: "is required when store is clickhouse",
    path: ["clickhouseUrl"],
  })
  .refine((config) => !config.authRequired || config.authKeys !== undefined, {
    message: "is required when authRequired is set (COLLECTOR_AUTH_KEYS)",
    path: ["authKeys"],
  });

export type CollectorConfigInput = z.input<typeof collectorConfigSchema>;
export type CollectorConfig = z.output<typeof collectorConfigSchema>;

/** Validates settings; the error names each bad setting and its value. */
export function parseCollectorConfig(input: CollectorConfigInput): CollectorConfig {
  const parsed = collectorConfigSchema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.map(String).join(".") || "(config)";
    const got = "input" in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : "";
    return `${field}: ${issue.message}${got}`;
  });
  throw new Error(`collector config is invalid:\n  - ${problems.join("\n  - ")}`);
}

/** COLLECTOR_UDP_PORT=… style variables, for settings not given as flags. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): Partial<CollectorConfigInput> {
  const result: Record<string, string> = {};
  for (const key of Object.keys(collectorConfigSchema.shape)) {
    const name = `COLLECTOR_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
    if (env[name] !== undefined && env[name] !== "") result[key] = env[name] as string;
  }
  return result as Partial<CollectorConfigInput>;
}
