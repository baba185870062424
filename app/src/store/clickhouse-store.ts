import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { STORED_FIELDS, STREAM_THRESHOLD_MS, type EventField, type PlaybackEvent } from "../protocol/event";
import type { SpoolCommit } from "../spool/spool-consumer";
import type { SpooledLines } from "../spool/spool-reader";
import type { EncodedLines } from "./line-encoder";
import { columnOf, EventRowEncoder, EVENT_ROW_COLUMNS, RowWriter, type RowColumn } from "./row-binary";
import { NativeBlockWriter } from "./native-block";
import type { Fragment } from "./insight-statements";
import type { Store } from "./store";
import { resettingAgent } from "./resetting-agent";
import {
  clickHouseEntityTables,
  clickHouseInsightSql,
  clickHouseSessionMinutes,
  clickHouseStreamsByRegion,
  type CopyRows,
} from "./clickhouse-insights";
import { SqlInsightQueries } from "./sql-insight-queries";

export interface ClickHouseStoreOptions {
  readonly url: string;
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
  /** Set for a cluster: ReplicatedMergeTree plus Distributed tables, DDL ON CLUSTER. */
  readonly cluster?: string;
}

/**
 * What the store needs of a ClickHouse server: over HTTP in production (httpConnection), and
 * an in-process engine where a test exercises the modern server path.
 */
export interface ClickHouseConnection {
  /** Runs a query and returns its rows (JSONEachRow), with `database` as the default database. */
  rows(sql: string, database?: string, settings?: Record<string, string>): Promise<Record<string, unknown>[]>;
  /** Runs a statement that returns nothing. */
  command(sql: string): Promise<void>;
  /** Inserts a body as one block: JSONEachRow (one row per line), RowBinary rows of `columns`, or a Native block of them. */
  insert(table: string, body: Buffer | string, options?: InsertOptions): Promise<void>;
  close(): Promise<void>;
}

export interface InsertOptions {
  /** @default JSONEachRow */
  readonly format?: "JSONEachRow" | "RowBinary" | "Native";
  /** The body's columns, in order (RowBinary and Native need them). @default every column */
  readonly columns?: readonly RowColumn[];
  /** @default none */
  readonly settings?: Record<string, number>;
}

/** The production connection: @clickhouse/client over HTTP, resetting sockets that stall. */
export function httpConnection(options: Pick<ClickHouseStoreOptions, "url" | "username" | "password">): ClickHouseConnection {
  const client: ClickHouseClient = createClient({
    url: options.url,
    username: options.username ?? "default",
    password: options.password ?? "",
    database: "default",
    request_timeout: 30_000,
    http_agent: resettingAgent(options.url),
  });
  return {
    rows: async (sql, database, settings) => {
      const result = await client.query({
        query: sql,
        format: "JSONEachRow",
        clickhouse_settings: { ...(database ? { database } : {}), ...settings },
      });
      return (await result.json()) as Record<string, unknown>[];
    },
    command: async (sql) => {
      await client.command({ query: sql });
    },
    insert: async (table, body, { format = "JSONEachRow", columns, settings } = {}) => {
      // exec sends the body as it is: the client's insert would serialize row objects again.
      const { stream } = await client.exec({
        query: `INSERT INTO ${table}${columns ? ` (${columns.map((column) => column.name).join(", ")})` : ""} FORMAT ${format}`,
        values: Readable.from([body]),
        clickhouse_settings: settings,
      });
      stream.resume();
      await finished(stream);
    },
    close: () => client.close(),
  };
}

/** What the connected server supports; newer features are used only when present. */
export interface ServerFeatures {
  readonly version: string;
  /** LowCardinality(String) left experimental in 19.x. */
  readonly lowCardinality: boolean;
  /** Table TTL (retention) arrived in 19.6. */
  readonly ttl: boolean;
}

export function featuresOf(version: string): ServerFeatures {
  const [major, minor] = version.split(".").map(Number);
  const atLeast = (wantMajor: number, wantMinor: number) => major > wantMajor || (major === wantMajor && minor >= wantMinor);
  return { version, lowCardinality: atLeast(19, 10), ttl: atLeast(19, 6) };
}

/**
 * Start of the minute. Not `t - t % 60000`: ClickHouse 18.16 returns wrong (even negative)
 * results for Int64 % constant, e.g. toInt64(1795688734700) % 60000 = -30836.
 */
export const clickHouseMinuteOf = (column: string): string => `intDiv(${column}, 60000) * 60000`;

/** Renders `{name}` placeholders as literals: 18.16 has no server-side query parameters. */
export function renderClickHouse(fragment: Fragment): string {
  return fragment.sql.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = fragment.params[name];
    if (value === undefined) throw new Error(`insight SQL: no value for {${name}}`);
    if (typeof value === "number") {
      if (!Number.isSafeInteger(Math.trunc(value))) throw new Error(`insight SQL: {${name}} ${value} is not an integer`);
      return String(Math.trunc(value));
    }
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  });
}

/** Adds a column unless it is there: 18.16 has no ADD COLUMN IF NOT EXISTS. */
export interface AddColumn {
  readonly table: string;
  readonly column: string;
  readonly definition: string;
}

/** A wire field's ClickHouse column: labels may be dictionary-encoded, optional fields are Nullable. */
function clickHouseColumn(field: EventField, label: string): string {
  const column = columnOf(field);
  const base = column.type === "String" && field.label ? label : column.type;
  return `${field.name} ${column.nullable ? `Nullable(${base})` : base}`;
}

/** The versioned schema; DDL picks engines by cluster mode and column types by server features. */
export function clickHouseMigrations(
  options: Pick<ClickHouseStoreOptions, "cluster" | "database">,
  features: ServerFeatures,
): Array<{ version: number; statements: Array<string | AddColumn | CopyRows> }> {
  const label = features.lowCardinality ? "LowCardinality(String)" : "String";
  const onCluster = options.cluster ? ` ON CLUSTER ${options.cluster}` : "";
  const db = options.database;
  const local = options.cluster ? "events_local" : "events";
  const engine = (table: string, kind: "MergeTree" | "AggregatingMergeTree") =>
    options.cluster ? `Replicated${kind}('/clickhouse/tables/{shard}/${db}/${table}', '{replica}')` : `${kind}()`;
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${db}.${local}${onCluster} (
      ${STORED_FIELDS.map((field) => clickHouseColumn(field, label)).join(", ")},
      received_at Int64, batch String
    ) ENGINE = ${engine(local, "MergeTree")}
    PARTITION BY toYYYYMMDD(toDateTime(intDiv(t, 1000)))
    ORDER BY (t, sid)${features.ttl ? "\n    TTL toDateTime(intDiv(t, 1000)) + INTERVAL 400 DAY" : ""}`,
  ];
  if (options.cluster) {
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${db}.events${onCluster} AS ${db}.events_local ENGINE = Distributed(${options.cluster}, ${db}, events_local, cityHash64(sid))`,
    );
  }
  statements.push(
    // One row per playback that reached the stream threshold, at its earliest qualifying event
    // (distinct inner aliases: ClickHouse resolves an alias like \`t\` inside other aggregates).
    `CREATE VIEW IF NOT EXISTS ${db}.streams${onCluster} AS
     SELECT pid, first_uid AS uid, first_track AS track, first_artist AS artist, first_region AS region,
            first_device AS device, first_source AS source, first_t AS t
     FROM (
       SELECT pid, argMin(uid, t) AS first_uid, argMin(track, t) AS first_track, argMin(artist, t) AS first_artist,
              argMin(region, t) AS first_region, argMin(device, t) AS first_device, argMin(source, t) AS first_source, min(t) AS first_t
       FROM ${db}.events WHERE listened >= ${STREAM_THRESHOLD_MS} GROUP BY pid
     )`,
    `CREATE TABLE IF NOT EXISTS ${db}.minute_rollup${onCluster} (
      minute Int64, region String, device String, source String, type String,
      events AggregateFunction(count), stall AggregateFunction(sum, Int64), listeners AggregateFunction(uniq, String)
    ) ENGINE = ${engine("minute_rollup", "AggregatingMergeTree")}
    PARTITION BY toYYYYMM(toDateTime(intDiv(minute, 1000)))
    ORDER BY (minute, region, device, source, type)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.minute_rollup_mv${onCluster} TO ${db}.minute_rollup AS
     SELECT ${clickHouseMinuteOf("t")} AS minute, toString(region) AS region, toString(device) AS device, ifNull(source, '') AS source, toString(type) AS type,
            countState() AS events, sumState(ifNull(stall, 0)) AS stall, uniqState(uid) AS listeners
     FROM ${db}.${local} GROUP BY minute, region, device, source, type`,
  );
  // Version 2: which spool a row came from and where its batch ended, so a restarted collector
  // knows what is stored (see committedPosition). The Distributed table mirrors its local table.
  const spoolTables = options.cluster ? [local, "events"] : [local];
  const spoolColumns = spoolTables.flatMap((table) => [
    { table, column: "spool", definition: "String DEFAULT ''" },
    { table, column: "spool_to", definition: "Int64 DEFAULT 0" },
  ]);
  const derived = { database: db, cluster: options.cluster, label, ttl: features.ttl };
  return [
    { version: 1, statements },
    { version: 2, statements: spoolColumns },
    // Version 3: aggregates per playback and session, so a window's insights read the window.
    { version: 3, statements: clickHouseEntityTables(derived) },
    // Version 4: the sessions of each minute, so a window's sessions are found without its events.
    { version: 4, statements: clickHouseSessionMinutes(derived) },
    // Version 5: the stream rows sorted by region first, so a region's window reads its own rows.
    { version: 5, statements: clickHouseStreamsByRegion(derived) },
    // Version 6: what nothing reads stops costing the inserts (docs/adr/0024). The minute rollup's
    // view goes, not its table: its rows stay for whoever reads them. The plain streams view,
    // which grouped all of history and has not been read since version 3, goes too.
    {
      version: 6,
      statements: [`DROP TABLE IF EXISTS ${db}.minute_rollup_mv${onCluster}`, `DROP TABLE IF EXISTS ${db}.streams${onCluster}`],
    },
  ];
}

/**
 * On a cluster every insight query reads Distributed tables with IN subqueries over Distributed
 * tables, which ClickHouse refuses by default ("Double-distributed IN/JOIN subqueries is denied",
 * distributed_product_mode = deny: docs/en/operations/settings/settings.md). `local` runs each
 * subquery on the shard's own tables; that is exact here because events and every aggregate are
 * sharded by sid, and a playback lives in one session.
 */
const CLUSTER_QUERY_SETTINGS = { distributed_product_mode: "local" };

/** What the store adds to each row of a batch (the events table's own columns). */
const ADDED_COLUMNS: readonly RowColumn[] = [
  { name: "received_at", type: "Int64", nullable: false },
  { name: "batch", type: "String", nullable: false },
  { name: "spool", type: "String", nullable: false },
  { name: "spool_to", type: "Int64", nullable: false },
];

/** The columns of every insert into events, in the rows' order. */
const INSERT_COLUMNS: readonly RowColumn[] = [...EVENT_ROW_COLUMNS, ...ADDED_COLUMNS];

/** A batch's identity: its spool range, or else what it holds. */
const batchToken = (identity: string | Buffer): string => createHash("sha256").update(identity).digest("hex").slice(0, 32);

/**
 * The cluster store. Retries never count twice: every batch carries a token (from its spool
 * range, or else its event ids), and a batch whose token is already stored is not inserted
 * again (18.16 has no insert-block dedupe outside replicated tables). One batch is one INSERT
 * block, so its rows and its spool position land together.
 *
 * Asking for the token costs a scan of the batch's client-time range, which one late event
 * stretches to minutes of history (in the bench, the whole run: 2.5 s visibility p99 at 80k
 * events/s). So the store remembers each spool's position from committedPosition and from its
 * own writes, and asks only when it does not know: before a spool's first write, and after a
 * write that failed (it may have landed).
 */
export class ClickHouseStore implements Store {
  readonly kind = "clickhouse";
  private features?: ServerFeatures;
  private encoder?: EventRowEncoder;
  private blockWriter?: NativeBlockWriter;
  private readonly suffix = new RowWriter(256);
  /** Where each spool's stored rows end, when this store knows it exactly. */
  private readonly knownPositions = new Map<string, number>();
  readonly insights = new SqlInsightQueries({
    run: (fragment) => this.query(fragment),
    minuteOf: clickHouseMinuteOf,
    statements: clickHouseInsightSql,
  });

  private constructor(
    private readonly connection: ClickHouseConnection,
    readonly options: Omit<ClickHouseStoreOptions, "url">,
  ) {}

  /** The store on a server over HTTP. */
  static open(options: ClickHouseStoreOptions): ClickHouseStore {
    return ClickHouseStore.over(httpConnection(options), options);
  }

  /** The store on any connection (a test's in-process engine). */
  static over(connection: ClickHouseConnection, options: Omit<ClickHouseStoreOptions, "url">): ClickHouseStore {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.database))
      throw new Error(`ClickHouseStore: database "${options.database}" must be a lower-case identifier`);
    return new ClickHouseStore(connection, options);
  }

  private rows(sql: string): Promise<Record<string, unknown>[]> {
    return this.connection.rows(sql, this.options.database, this.options.cluster ? CLUSTER_QUERY_SETTINGS : undefined);
  }

  private query(fragment: Fragment): Promise<Record<string, unknown>[]> {
    return this.rows(renderClickHouse(fragment));
  }

  async serverFeatures(): Promise<ServerFeatures> {
    if (!this.features) {
      const [row] = await this.connection.rows("SELECT version() AS version");
      this.features = featuresOf(String(row.version));
    }
    return this.features;
  }

  /** Applies the migrations not applied yet, up to `target` (an upgrade test stops at an older version). @default all */
  async migrate(target = Number.POSITIVE_INFINITY): Promise<number> {
    const features = await this.serverFeatures();
    const db = this.options.database;
    const onCluster = this.options.cluster ? ` ON CLUSTER ${this.options.cluster}` : "";
    await this.connection.command(`CREATE DATABASE IF NOT EXISTS ${db}${onCluster}`);
    await this.connection.command(
      `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${onCluster} (version UInt32, applied_at DateTime) ENGINE = TinyLog`,
    );
    const applied = new Set((await this.rows(`SELECT version FROM ${db}.schema_migrations`)).map((row) => Number(row.version)));
    let latest = 0;
    for (const migration of clickHouseMigrations(this.options, features)) {
      if (migration.version > target) break;
      latest = migration.version;
      if (applied.has(migration.version)) continue;
      // Every step is IF NOT EXISTS or checked: a migration interrupted half-way is safe to run again.
      for (const statement of migration.statements) {
        if (typeof statement === "string") await this.connection.command(statement);
        else if ("column" in statement) await this.addColumn(statement);
        else await this.copyRows(statement);
      }
      await this.connection.insert(
        `${db}.schema_migrations`,
        JSON.stringify({ version: migration.version, applied_at: Math.floor(Date.now() / 1000) }),
      );
    }
    return latest;
  }

  private async addColumn(step: AddColumn): Promise<void> {
    const db = this.options.database;
    const [present] = await this.rows(
      `SELECT count() AS n FROM system.columns WHERE database = '${db}' AND table = '${step.table}' AND name = '${step.column}'`,
    );
    if (Number(present.n) > 0) return;
    const onCluster = this.options.cluster ? ` ON CLUSTER ${this.options.cluster}` : "";
    await this.connection.command(`ALTER TABLE ${db}.${step.table}${onCluster} ADD COLUMN ${step.column} ${step.definition}`);
  }

  private async copyRows(step: CopyRows): Promise<void> {
    const [database, table] = step.copyFrom.split(".");
    const [present] = await this.rows(`SELECT count() AS n FROM system.tables WHERE database = '${database}' AND name = '${table}'`);
    if (Number(present.n) === 0) return;
    await this.connection.command(`INSERT INTO ${step.into} (${step.columns}) SELECT ${step.columns} FROM ${step.copyFrom}`);
  }

  /** Scans the spool columns once per start or failure, not per batch. */
  async committedPosition(spool: string): Promise<number> {
    const [row] = await this.rows(
      `SELECT max(spool_to) AS position FROM events WHERE spool = ${renderClickHouse({ sql: "{spool}", params: { spool } })}`,
    );
    const position = Number(row?.position ?? 0);
    this.knownPositions.set(spool, position);
    return position;
  }

  async writeBatch(events: readonly PlaybackEvent[], commit?: SpoolCommit): Promise<void> {
    if (events.length === 0 || this.storedAlready(commit)) return;
    const token = batchToken(commit ? `${commit.spool}:${commit.from}:${commit.to}` : events.map((event) => event.id).join("\n"));
    await this.insertOnce(token, this.rowEncoder().encodeEvents(events, this.suffixOf(token, commit)), commit);
  }

  /**
   * Spooled lines as RowBinary rows, written in C from the lines' bytes (EventRowEncoder), then
   * sent as one Native block (blockOf). Parsing every line in JavaScript and sending row objects
   * took the store thread about 10 µs per event (docs/adr/0012); JSONEachRow cost ClickHouse more
   * than RowBinary (docs/adr/0014), and RowBinary more than Native (docs/adr/0021).
   */
  async writeLines(lines: SpooledLines, commit?: SpoolCommit): Promise<void> {
    if (lines.count === 0 || this.storedAlready(commit)) return;
    const token = batchToken(commit ? `${commit.spool}:${commit.from}:${commit.to}` : lines.text);
    await this.insertOnce(token, this.rowEncoder().encodeLines(lines.text, lines.count, this.suffixOf(token, commit)), commit);
  }

  /** The native encoder, made at the first write: a store that only answers queries needs no addon. */
  private rowEncoder(): EventRowEncoder {
    return (this.encoder ??= new EventRowEncoder());
  }

  /** The insert's body: the rows as one Native block, which the server parses a column at a time (docs/adr/0021). */
  private blockOf(rows: EncodedLines): Buffer {
    return (this.blockWriter ??= new NativeBlockWriter(INSERT_COLUMNS)).write(rows.text, rows.lines);
  }

  /** True when the known position covers the batch; a batch that starts inside it is a consumer bug. */
  private storedAlready(commit?: SpoolCommit): boolean {
    const known = commit && this.knownPositions.get(commit.spool);
    if (!commit || known === undefined || known <= commit.from) return false;
    if (commit.to <= known) return true;
    throw new Error(`spool batch [${commit.from}, ${commit.to}) overlaps what is stored (up to ${known})`);
  }

  /** The batch's own columns, as the RowBinary that follows each row. */
  private suffixOf(token: string, commit?: SpoolCommit): Buffer {
    this.suffix.reset();
    this.suffix.row(ADDED_COLUMNS, { received_at: Date.now(), batch: token, spool: commit?.spool ?? "", spool_to: commit?.to ?? 0 });
    return this.suffix.bytes();
  }

  private async insertOnce(token: string, rows: EncodedLines, commit?: SpoolCommit): Promise<void> {
    const known = commit && this.knownPositions.get(commit.spool);
    if (known === undefined) {
      const [existing] = await this.rows(
        `SELECT count() AS n FROM events WHERE t >= ${rows.minT} AND t <= ${rows.maxT} AND batch = '${token}'`,
      );
      // Stored already; what came after it is not known, so the next write asks again.
      if (Number(existing.n) > 0) return;
    }
    // Unknown until the insert answers: a failed one may have landed.
    if (commit) this.knownPositions.delete(commit.spool);
    await this.connection.insert(`${this.options.database}.events`, this.blockOf(rows), {
      format: "Native",
      columns: INSERT_COLUMNS,
      settings: this.insertSettings(),
    });
    if (commit) this.knownPositions.set(commit.spool, commit.to);
  }

  /**
   * Every insert feeds five materialized views (the insight tables); with
   * parallel_view_processing the server fills them on min(max_threads, views) threads rather
   * than one after another (docs/adr/0019). A Distributed table would otherwise queue the rows
   * and answer before they are stored, hence insert_distributed_sync on a cluster.
   */
  private insertSettings(): Record<string, number> {
    return { parallel_view_processing: 1, ...(this.options.cluster ? { insert_distributed_sync: 1 } : {}) };
  }

  async countEvents(): Promise<number> {
    const [row] = await this.rows("SELECT count() AS n FROM events");
    return Number(row.n);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
