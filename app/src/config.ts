import { z } from "zod";
import { DEFAULT_MAX_DATAGRAM_BYTES, MAX_DATAGRAM_BYTES } from "./protocol/event";
import { DECODERS } from "./protocol/native-decode";
import { MAX_DUCKDB_ALLOCATOR_DECAY_MS } from "./process-memory";
import { UDP_RECEIVERS } from "./source/udp-source";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();

/** Every setting of `collector serve`: its type, bound, default and help text, declared once. */
export const collectorConfigSchema = z
  .object({
    udpPort: port.default(8125).describe("UDP port events arrive on"),
    udpHosts: z
      .union([z.string(), z.array(z.string())])
      .transform((value) => (Array.isArray(value) ? value : value.split(",").map((host) => host.trim())).filter(Boolean))
      .pipe(z.array(z.union([z.ipv4(), z.ipv6()])).min(1))
      .default(["0.0.0.0", "::"])
      .describe("comma-separated UDP bind addresses (IPv4 and IPv6)"),
    recvBufferBytes: positive
      .optional()
      .describe("requested socket receive buffer; the kernel caps it at net.core.rmem_max (unset: the kernel's default)"),
    udpReceiver: z
      .enum(UDP_RECEIVERS)
      .default("recvmmsg")
      .describe("recvmmsg: the native batch receiver (Linux, the addon); dgram: Node's own socket, portable and slower"),
    decoder: z
      .enum(DECODERS)
      .default("native")
      .describe("native: plain lines validated in C, others by JSON.parse; js: JSON.parse for every line"),
    maxDatagramBytes: positive.max(MAX_DATAGRAM_BYTES).default(DEFAULT_MAX_DATAGRAM_BYTES).describe("largest datagram accepted"),
    maxSkewMs: positive.default(10 * 60_000).describe("largest distance of an event's client time from the collector's clock"),
    dedupeWindowMs: positive.default(10 * 60_000).describe("how long event ids are remembered for dedupe, at least"),
    // Tables allocated up front so they never grow and rehash on the receiving thread (docs/adr/0008).
    dedupeMaxEntries: positive
      .min(2)
      .max(64 * 1024 * 1024)
      .default(2_000_000)
      .describe("most ids remembered; 16 bytes each, allocated up front, count rounded up to a power of two"),
    // Several DuckDB row groups, written straight into the file when the store is behind (docs/adr/0010, 0017).
    batchSize: positive.default(131_072).describe("most events per store write (reached only when the store is behind)"),
    flushIntervalMs: positive.default(200).describe("longest wait before a store write while events are waiting"),
    storeRetryBaseMs: positive.default(200).describe("first wait after a failed store write; doubles up to 30 s"),
    spoolDir: z.string().min(1).default("spool").describe("where accepted events are spooled before the store (a persistent volume)"),
    spoolMaxBytes: positive
      .default(1024 * 1024 * 1024)
      .describe("the spool's bound on disk; full, new events are refused as overload and accepted ones are never dropped"),
    spoolSegmentBytes: positive
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe("spool segment file size"),
    spoolFsyncIntervalMs: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(100)
      .describe("fdatasync interval: what a host crash may lose, and a delay before records are stored; 0 for rotation and close only"),
    spoolReadyMaxRatio: z.coerce.number().gt(0).max(1).default(0.9).describe("spool fill at which /readyz turns not ready"),
    sourceEventsPerSecond: positive.default(20_000).describe("sustained events/s per source address"),
    sourceBurst: positive.default(40_000).describe("burst of events per source address"),
    sourceMaxSessions: positive.default(5_000).describe("new sessions per source address per minute"),
    maxSources: positive.default(100_000).describe("source addresses the rate limiter tracks at once"),
    httpPort: port.default(8080).describe("HTTP port (API, dashboard, metrics, probes)"),
    httpHost: z.string().min(1).default("0.0.0.0").describe("HTTP bind address"),
    store: z.enum(["duckdb", "clickhouse"]).default("duckdb").describe("where events are stored"),
    duckdbPath: z.string().min(1).default("collector.duckdb").describe("DuckDB file, or :memory:"),
    duckdbThreads: positive.default(1).describe("DuckDB worker threads; more speed up big queries but compete with UDP receive"),
    // docs/adr/0005.
    duckdbCheckpointMegabytes: positive.optional().describe("WAL size in MiB that triggers a DuckDB checkpoint (unset: the store's 32)"),
    // docs/adr/0017. DuckDB refuses other sizes: not a multiple of its 2 048-row vector, or above
    // 122 880 with the default storage version (duckdb-store.test.ts checks both against the engine).
    duckdbRowGroupSize: positive
      .multipleOf(2048)
      .max(122_880)
      .optional()
      .describe(
        "rows per DuckDB row group, a multiple of 2 048 up to 122 880; a write of at least this many skips the WAL (unset: the store's 16 384)",
      ),
    // docs/adr/0013.
    duckdbKnownStreams: positive
      .optional()
      .describe(
        "playbacks whose stored stream time DuckDB remembers, in two generations, to add streams without an upsert (unset: 100 000)",
      ),
    // A write of batchSize rows needs tens of MiB: at 32 the spoofed-flood test's writes failed
    // with DuckDB's "Out of Memory Error"; 48 held 131 072-row writes (docs/adr/0020).
    duckdbMemoryLimitMegabytes: positive
      .min(64)
      .default(512)
      .describe("DuckDB's memory limit in MiB, at least 64; past it DuckDB evicts and spills, then fails writes"),
    // docs/adr/0018. jemalloc's range: -1 (never hand back) or a decay in ms.
    duckdbAllocatorDecayMs: z
      .union([z.literal("duckdb"), z.coerce.number().int().min(-1).max(MAX_DUCKDB_ALLOCATOR_DECAY_MS)])
      .default(-1)
      .describe(
        "ms DuckDB's allocator keeps freed memory for reuse before returning it to the system; -1 keeps it; duckdb leaves DuckDB's own (1 000 in 1.5.6)",
      ),
    // docs/adr/0009.
    storeNice: z.coerce
      .number()
      .int()
      .min(0)
      .max(19)
      .default(10)
      .describe("nice value 0..19 of the store's threads and libuv's pool; 0 keeps them at receive priority"),
    // docs/adr/0007.
    mallocRetainMegabytes: z.coerce
      .number()
      .int()
      .min(0)
      .max(2047)
      .default(256)
      .describe("freed heap in MiB kept for reuse by large allocations; 0 keeps glibc's defaults"),
    clickhouseUrl: z.url().optional().describe("for store=clickhouse: the HTTP endpoint, e.g. http://clickhouse-streamstats:8123"),
    clickhouseDatabase: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default("streamstats")
      .describe("ClickHouse database"),
    clickhouseUser: z.string().min(1).default("default").describe("ClickHouse user"),
    clickhousePassword: z.string().default("").describe("ClickHouse password (from a Secret)"),
    clickhouseCluster: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional()
      .describe("ClickHouse cluster: replicated tables plus Distributed, DDL ON CLUSTER"),
    shutdownTimeoutMs: positive.default(10_000).describe("bound on the drain at SIGTERM; what is left stays in the spool"),
    authKeys: z
      .string()
      .min(1)
      .optional()
      .describe('datagram signing keys "kid:base64,kid2:base64" (from a Secret); set, unsigned datagrams are refused'),
    authRequired: z
      .union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")])
      .default(false)
      .describe("refuse to start without authKeys (the chart sets this in production)"),
    authMaxAgeMs: positive.default(30_000).describe("how old (or far ahead) a signed datagram's timestamp may be"),
    apiToken: z
      .string()
      .min(16, "must be at least 16 characters")
      .optional()
      .describe("bearer token for the API and dashboard (from a Secret); unset means open (lab)"),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").describe("pino log level"),
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

/** Secrets are read from the environment only: a flag would show in `ps` and in manifests. */
const ENVIRONMENT_ONLY: ReadonlySet<SettingKey> = new Set(["clickhousePassword", "authKeys", "apiToken"]);

export type SettingKey = keyof typeof collectorConfigSchema.shape;

/** One setting as the CLI, the environment and the docs present it, derived from the schema. */
export interface Setting {
  readonly key: SettingKey;
  /** `--udp-port`, or undefined for a secret. */
  readonly flag?: string;
  /** `COLLECTOR_UDP_PORT`. */
  readonly env: string;
  readonly description: string;
  /** The default as a string, or undefined when the setting has none. */
  readonly defaultValue?: string;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const environmentName = (key: string): string => `COLLECTOR_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;

function defaultOf(schema: z.ZodType): string | undefined {
  const def = (schema as unknown as { def: { type: string; defaultValue?: unknown } }).def;
  if (def.type !== "default") return undefined;
  const value = def.defaultValue;
  return Array.isArray(value) ? value.join(",") : String(value);
}

/** Every setting, in the schema's order. */
export const SETTINGS: readonly Setting[] = (Object.entries(collectorConfigSchema.shape) as Array<[SettingKey, z.ZodType]>).map(
  ([key, schema]) => ({
    key,
    flag: ENVIRONMENT_ONLY.has(key) ? undefined : `--${kebab(key)}`,
    env: environmentName(key),
    description: schema.description ?? "",
    defaultValue: defaultOf(schema),
  }),
);

/** Where a setting's value came from, for messages: the flag or the variable. */
export type SettingOrigins = Partial<Record<string, string>>;

/**
 * Validates settings; the error names each bad setting, where it came from, and the value as
 * given (not as coerced: "abc" for a number, never NaN or null).
 */
export function parseCollectorConfig(input: CollectorConfigInput, origins: SettingOrigins = {}): CollectorConfig {
  const parsed = collectorConfigSchema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data;
  const given = input as Record<string, unknown>;
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.map(String).join(".") || "(config)";
    const key = String(issue.path[0] ?? "");
    const origin = origins[key] ? ` (${origins[key]})` : "";
    const raw = issue.path.length === 1 && key in given ? given[key] : "input" in issue ? issue.input : undefined;
    const got = raw !== undefined ? ` (got ${JSON.stringify(raw)})` : "";
    const message =
      issue.code === "invalid_type" && typeof raw === "string"
        ? `expected a ${issue.expected}`
        : issue.message.replace(/^Invalid input: /, "");
    return `${field}${origin}: ${message}${got}`;
  });
  throw new Error(`collector config is invalid:\n  - ${problems.join("\n  - ")}`);
}

/** COLLECTOR_UDP_PORT=… style variables, for settings not given as flags. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): Partial<CollectorConfigInput> {
  const result: Record<string, string> = {};
  for (const setting of SETTINGS) {
    const value = env[setting.env];
    if (value !== undefined && value !== "") result[setting.key] = value;
  }
  return result as Partial<CollectorConfigInput>;
}
