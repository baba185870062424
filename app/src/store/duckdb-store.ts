import { blobValue, DuckDBInstance, listValue, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";
import { isUtf8 } from "node:buffer";
import { STORED_FIELDS, STREAM_THRESHOLD_MS, type EventField, type PlaybackEvent } from "../protocol/event";
import type { SpoolCommit } from "../spool/spool-consumer";
import type { SpooledLines } from "../spool/spool-reader";
import type { Fragment } from "./insight-statements";
import type { Store } from "./store";
import { SqlInsightQueries } from "./sql-insight-queries";
import { LineEncoder, storedFieldsOf } from "./line-encoder";
import { KnownStreams } from "./known-streams";
import { keepDuckDbFreedMemory, purgeDuckDbFreedMemory } from "../process-memory";

/** A wire field's DuckDB column type. */
const duckDbType = (field: EventField): "VARCHAR" | "BIGINT" => (field.kind === "count" ? "BIGINT" : "VARCHAR");

/** The events table's columns as the wire format names and types them (received_at is ours). */
const EVENT_COLUMNS = STORED_FIELDS.map((field) => ({ name: field.name, type: duckDbType(field), required: field.required === "always" }));
const EVENT_JSON_STRUCTURE = JSON.stringify(Object.fromEntries(EVENT_COLUMNS.map(({ name, type }) => [name, type])));

/** Versioned, append-only migrations; each runs once, in order, inside a transaction. */
const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE events (
        ${EVENT_COLUMNS.map(({ name, type, required }) => `${name} ${type}${required ? " NOT NULL" : ""}`).join(", ")},
        received_at BIGINT NOT NULL
      );
      -- One row per playback that reached the stream threshold, at its earliest qualifying event.
      CREATE TABLE streams (
        pid VARCHAR PRIMARY KEY, uid VARCHAR NOT NULL, track VARCHAR NOT NULL, artist VARCHAR NOT NULL,
        region VARCHAR NOT NULL, device VARCHAR NOT NULL, source VARCHAR NOT NULL, t BIGINT NOT NULL
      );
      -- Per-minute event counts. Written no more (docs/adr/0024: nothing read them, and a resent
      -- event counted twice); a store's old rows stay.
      CREATE TABLE minute_rollup (
        minute BIGINT NOT NULL, region VARCHAR NOT NULL, device VARCHAR NOT NULL, source VARCHAR NOT NULL,
        type VARCHAR NOT NULL, events BIGINT NOT NULL, stall_ms BIGINT NOT NULL,
        PRIMARY KEY (minute, region, device, source, type)
      );`,
  },
  {
    version: 2,
    // Where each spool's stored batches end, updated in the batch's own transaction.
    sql: `CREATE TABLE spool_commits (spool VARCHAR PRIMARY KEY, position BIGINT NOT NULL);`,
  },
];

/** A batch that starts past what is stored would skip records; one that overlaps would store some twice. */
export class SpoolPositionMismatch extends Error {}

/** The plain INSERT into streams met a playback that is stored already (the write is redone). */
class StreamAlreadyStored extends Error {}

export const DUCKDB_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Renders `{name}` placeholders as DuckDB's `$name` parameters. */
function render(fragment: Fragment): { sql: string; values: Record<string, DuckDBValue> } {
  const values: Record<string, DuckDBValue> = {};
  const sql = fragment.sql.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = fragment.params[name];
    if (value === undefined) throw new Error(`insight SQL: no value for {${name}}`);
    values[name] = typeof value === "number" ? BigInt(Math.trunc(value)) : value;
    return `$${name}`;
  });
  return { sql, values };
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

export interface DuckDbStoreOptions {
  /** A file path, or `:memory:` for tests. */
  readonly path: string;
  /**
   * DuckDB's worker threads (default 1). On a small box its pool competes for cores with the
   * thread that receives UDP; one thread keeps up with ingest (see the benchmark).
   */
  readonly threads?: number;
  /**
   * Playbacks whose stored stream time the store keeps in memory (two generations of this many;
   * default 100 000; an estimated 20 MB at most, not measured; the collector's `duckdbKnownStreams`). A batch whose qualifying playbacks are all known, or
   * new, adds its streams with a plain INSERT; see writeStreams.
   */
  readonly knownStreams?: number;
  /**
   * WAL size that triggers a checkpoint (default 32 MiB; DuckDB's own is 16). Each checkpoint
   * compresses again the row group that ingest keeps appending to, so frequent ones cost CPU:
   * over 3 million rows in 20 000-row batches, 16 MiB took 33 s of CPU, 32 MiB 27.6 s, 64 MiB
   * 26.9 s and 128 MiB 26 s. The price of a larger one: each checkpoint stalls writes for
   * longer (at 128 MiB, seconds: visibility p99 suffered), and the WAL replay after a crash is
   * longer.
   */
  readonly checkpointMegabytes?: number;
  /**
   * Rows per row group (default 16 384; a multiple of 2 048 up to 122 880, DuckDB's own). A
   * transaction that appends at least a row group's worth to a table that holds rows writes its
   * rows compressed straight into the file; a smaller one goes through the WAL, and the next
   * checkpoint compresses them again. At the bench's 80k events/s a write holds 20 000 to 50 000
   * events: below DuckDB's row group, above this one. With DuckDB's, every sixth such write paid
   * for a checkpoint (its COMMIT 0.3–0.5 s against about 0.05 s): at 80k events/s, past the
   * collector's first seconds, 14–36 % of its writes took over 0.5 s, against 0–1.2 % with
   * 16 384, and those are visibility's p99 (docs/adr/0017). The price: the file is 13–20 %
   * larger, as each write leaves a part-filled row group, and DuckDB holds 40–55 MiB more (the
   * spoofed-flood test's collector peaked at 366–395 against 313 MiB).
   */
  readonly rowGroupSize?: number;
  /**
   * How long DuckDB's allocator keeps freed memory for reuse before handing it back to the
   * system, in ms; -1 keeps it (default: untouched, DuckDB's own 1 000 in 1.5.6). Process-wide:
   * DuckDB's allocator is shared by every database in the process. A store write allocates and
   * frees tens of MiB a few times a second; with DuckDB's 1 s a share of it came back as fresh pages,
   * each a page fault (docs/adr/0018). Needs the collector's native addon.
   */
  readonly allocatorDecayMs?: number;
  /**
   * DuckDB's memory limit in MiB (default 512). DuckDB's own is 80 % of the cgroup's memory limit
   * or the machine's (duckdb src/main/config.cpp, src/common/cgroups.cpp): 819 MiB in the chart's
   * 1 GiB pod, beside the collector's own memory. It bounds DuckDB's buffer manager only. Past it
   * DuckDB evicts and spills to `<file>.tmp`; what still does not fit fails with its "Out of
   * Memory Error" (a write's batch stays in the spool). Each write needs the streams table's key
   * index whole, about 100 bytes a stream with clients' playback ids: 512 MiB holds some 5
   * million. Soaked at 150k events/s for 10 minutes, the collector kept up with 512 and fell
   * behind without (docs/adr/0020).
   */
  readonly memoryLimitMegabytes?: number;
  /**
   * With allocatorDecayMs -1, how long after a read the store hands back what DuckDB's allocator
   * keeps, at most once per this long (default 30 000; see READ_MEMORY_PURGE_DELAY_MS).
   */
  readonly readMemoryPurgeDelayMs?: number;
  /**
   * About how many bytes of wire lines go to DuckDB in one bound value (default 256 KiB; see
   * writeLines). A line longer than this goes whole in a piece of its own.
   */
  readonly linePieceBytes?: number;
}

const DEFAULT_CHECKPOINT_MEGABYTES = 32;
const DEFAULT_ROW_GROUP_SIZE = 16_384;
const DEFAULT_KNOWN_STREAMS = 100_000;
const DEFAULT_MEMORY_LIMIT_MEGABYTES = 512;
const DEFAULT_LINE_PIECE_BYTES = 256 * 1024;

/**
 * `text`'s lines ("\n" between them) in pieces of about `pieceBytes`, each cut between two lines
 * and without the "\n" there; a piece holds at least one line. Views of `text`, not copies.
 */
export function linePieces(text: Buffer, pieceBytes: number): Buffer[] {
  checkLinePieceBytes(pieceBytes);
  const pieces: Buffer[] = [];
  let start = 0;
  while (text.length - start > pieceBytes) {
    // The last "\n" that keeps the piece within pieceBytes, else the first after it.
    let end = text.lastIndexOf(0x0a, start + pieceBytes);
    if (end <= start) end = text.indexOf(0x0a, start + pieceBytes);
    if (end < 0) break;
    pieces.push(text.subarray(start, end));
    start = end + 1;
  }
  pieces.push(text.subarray(start));
  return pieces;
}

/** `context` leads the message: what the value was given to. */
function checkLinePieceBytes(pieceBytes: number, context = ""): void {
  if (!Number.isInteger(pieceBytes) || pieceBytes < 1)
    throw new RangeError(`${context}linePieceBytes must be a positive integer (got ${pieceBytes})`);
}

/**
 * With DuckDB's freed memory kept, how long after a read the store hands it back. A read's peak
 * (hundreds of MiB for a window whose sessions are long) would otherwise stay resident, once per
 * thread it ran on; the writes' pages go back with it and are faulted in again by the next
 * write, so not after every read (docs/adr/0020).
 */
const READ_MEMORY_PURGE_DELAY_MS = 30_000;

const QUALIFIES = `listened >= ${STREAM_THRESHOLD_MS}`;
/** A batch's streams: each qualifying playback at its earliest qualifying event in the batch. */
const batchStreams = (batch: string, where = "") => `
  SELECT pid, arg_min(uid, t), arg_min(track, t), arg_min(artist, t), arg_min(region, t), arg_min(device, t), arg_min(source, t), min(t)
  FROM ${batch} WHERE ${QUALIFIES}${where} GROUP BY pid`;

/** The embedded store: one read-write process per file, bulk writes through the appender. */
export class DuckDbStore implements Store {
  readonly kind = "duckdb";
  private writing: Promise<void> = Promise.resolve();
  readonly insights = new SqlInsightQueries({ run: (fragment) => this.query(fragment) });
  private lastBatchAt = 0;
  private readonly encoder = new LineEncoder();
  private readonly known: KnownStreams;

  private constructor(
    private readonly instance: DuckDBInstance,
    /** Writes and migrations; batches are serialized on it. */
    private readonly connection: DuckDBConnection,
    /** Insight queries: a second connection sees only committed batches, never half of one. */
    private readonly reader: DuckDBConnection,
    readonly path: string,
    knownStreams: number,
    /** Set when the store keeps DuckDB's freed memory: hands it back after reads. */
    private readonly purgeFreedMemory?: () => void,
    private readonly purgeDelayMs = READ_MEMORY_PURGE_DELAY_MS,
    private readonly linePieceBytes = DEFAULT_LINE_PIECE_BYTES,
  ) {
    this.known = new KnownStreams(knownStreams);
  }

  static async open(options: DuckDbStoreOptions): Promise<DuckDbStore> {
    checkLinePieceBytes(options.linePieceBytes ?? DEFAULT_LINE_PIECE_BYTES, `duckdb store ${options.path}: `);
    // The row group size is an option of ATTACH only, so the file is attached to an in-memory
    // instance and made each connection's default database.
    const instance = await DuckDBInstance.create(":memory:", {
      threads: String(options.threads ?? 1),
      checkpoint_threshold: `${options.checkpointMegabytes ?? DEFAULT_CHECKPOINT_MEGABYTES}MB`,
      // A checkpoint "vacuums" events (no index, so it may) by merging adjacent row groups that
      // fit in fewer. A write of 131 072 rows leaves a full row group and a short one, so every
      // checkpoint decompressed and compressed again nearly all rows since the last one: 5.7
      // instead of 3.9 µs of CPU per row. events is append-only, so there is nothing else to vacuum.
      max_vacuum_tasks: "0",
      memory_limit: `${options.memoryLimitMegabytes ?? DEFAULT_MEMORY_LIMIT_MEGABYTES}MiB`,
      // Where a query or checkpoint that outgrows memory spills. DuckDB puts it beside a database
      // file (`<file>.tmp`) but, for an in-memory instance like this one, in `./.tmp`: the
      // container's working directory, on a read-only root (duckdb src/main/config.cpp,
      // SetDefaultTempDirectory). So say the file's.
      ...(options.path === ":memory:" ? {} : { temp_directory: `${options.path}.tmp` }),
    });
    const [writer, reader] = [await instance.connect(), await instance.connect()];
    const rowGroupSize = options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
    try {
      // DuckDB's library is loaded by now, so its allocator can be found.
      if (options.allocatorDecayMs !== undefined) keepDuckDbFreedMemory(options.allocatorDecayMs);
      await writer.run(`ATTACH '${options.path.replaceAll("'", "''")}' AS store (ROW_GROUP_SIZE ${rowGroupSize})`);
      for (const connection of [writer, reader]) await connection.run("USE store");
    } catch (error) {
      for (const closable of [reader, writer, instance]) closable.closeSync();
      throw new Error(`duckdb store ${options.path} (rowGroupSize ${rowGroupSize}): ${(error as Error).message}`);
    }
    const purge =
      options.allocatorDecayMs === -1
        ? () => {
            try {
              purgeDuckDbFreedMemory();
            } catch {
              // keepDuckDbFreedMemory found the allocator at open; were it refused now, the memory stays kept.
            }
          }
        : undefined;
    return new DuckDbStore(
      instance,
      writer,
      reader,
      options.path,
      options.knownStreams ?? DEFAULT_KNOWN_STREAMS,
      purge,
      options.readMemoryPurgeDelayMs,
      options.linePieceBytes,
    );
  }

  async migrate(): Promise<number> {
    await this.connection.run(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)",
    );
    const applied = new Set(
      (await this.connection.runAndReadAll("SELECT version FROM schema_migrations")).getRowObjects().map((row) => num(row.version)),
    );
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await this.connection.run("BEGIN TRANSACTION");
      try {
        await this.connection.run(migration.sql);
        await this.connection.run("INSERT INTO schema_migrations (version) VALUES ($version)", { version: migration.version });
        await this.connection.run("COMMIT");
      } catch (error) {
        await this.connection.run("ROLLBACK");
        throw new Error(`duckdb migration ${migration.version} failed: ${(error as Error).message}`);
      }
    }
    return DUCKDB_SCHEMA_VERSION;
  }

  /**
   * Appends a batch straight into `events` and derives its streams from the batch's
   * rows, in one transaction: all or nothing. With a spool commit, the transaction also moves
   * the spool's stored position, and a batch that is already stored is skipped.
   */
  writeBatch(events: readonly PlaybackEvent[], commit?: SpoolCommit): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.serialized((receivedAt) => this.appendEvents(events, receivedAt), commit);
  }

  /**
   * The same for accepted wire lines, as the spool holds them: DuckDB parses the JSON itself
   * (in C++, from a list of pieces bound as one value), so no JavaScript object or appender call per row.
   * The lines were validated on receipt; unknown fields are ignored, as in writeBatch.
   *
   * The bytes go over as BLOBs that DuckDB decodes: a JavaScript string would be made from
   * them and encoded back to UTF-8 by the binding, about a fifth of the store's CPU at 131 072
   * events per write. decode() refuses invalid UTF-8, which JSON.parse accepted on receipt (as
   * U+FFFD) inside strings; such a batch goes as strings, which replace it the same way.
   *
   * A line json_transform would read differently from JSON.parse (a repeated key: DuckDB keeps
   * the first) is written back from its known fields first (LineEncoder); plain lines, nearly
   * all of them, go as they are, without a copy when the whole batch is plain.
   *
   * They go as a list of pieces of about linePieceBytes, cut between lines: DuckDB copied
   * one bound value of the whole batch (~40 MiB at 131 072 events) more than once while running
   * the insert; pieces took 15–37 % less CPU a row in four probe runs (docs/adr/0022).
   */
  writeLines(lines: SpooledLines, commit?: SpoolCommit): Promise<void> {
    if (lines.count === 0) return Promise.resolve();
    const { text: bytes } = this.encoder.encode(lines.text, lines.count, { reencode: (event) => JSON.stringify(storedFieldsOf(event)) });
    const utf8 = isUtf8(bytes);
    const pieces = linePieces(bytes, this.linePieceBytes).map((piece) => (utf8 ? blobValue(piece) : piece.toString("utf8")));
    return this.serialized(
      (receivedAt) =>
        this.connection.run(
          `INSERT INTO events SELECT ${EVENT_COLUMNS.map(({ name }) => `e.${name}`).join(", ")}, ${receivedAt}
           FROM (SELECT json_transform(line, '${EVENT_JSON_STRUCTURE}') AS e
                 FROM (SELECT unnest(string_split(${utf8 ? "decode(piece)" : "piece"}, chr(10))) AS line
                       FROM (SELECT unnest($pieces::${utf8 ? "BLOB" : "VARCHAR"}[]) AS piece)))`,
          { pieces: listValue(pieces) },
        ),
      commit,
    );
  }

  /** One connection, one writer: batches are serialized. */
  private serialized(insert: (receivedAt: bigint) => Promise<unknown>, commit?: SpoolCommit): Promise<void> {
    const write = this.writing.then(() => this.writeNow(insert, commit));
    this.writing = write.catch(() => undefined);
    return write;
  }

  async committedPosition(spool: string): Promise<number> {
    const [row] = await this.rows("SELECT max(position) AS position FROM spool_commits WHERE spool = $spool", { spool });
    return num(row?.position);
  }

  private async writeNow(
    insert: (receivedAt: bigint) => Promise<unknown>,
    commit: SpoolCommit | undefined,
    streamsBy: "insert" | "upsert" = "insert",
  ): Promise<void> {
    // Strictly increasing, so it also identifies this batch's rows (zone maps make that cheap).
    this.lastBatchAt = Math.max(Date.now(), this.lastBatchAt + 1);
    const receivedAt = BigInt(this.lastBatchAt);
    await this.connection.run("BEGIN TRANSACTION");
    let stored: Map<string, number>;
    try {
      if (commit) {
        const stored = num(
          (
            await this.connection.runAndReadAll("SELECT max(position) AS position FROM spool_commits WHERE spool = $spool", {
              spool: commit.spool,
            })
          ).getRowObjects()[0]?.position,
        );
        if (stored >= commit.to) {
          await this.connection.run("ROLLBACK");
          return;
        }
        if (stored > commit.from)
          throw new SpoolPositionMismatch(`spool batch [${commit.from}, ${commit.to}) overlaps what is stored (up to ${stored})`);
      }
      await insert(receivedAt);
      const batch = `(SELECT * FROM events WHERE received_at = ${receivedAt})`;
      stored = await this.writeStreams(batch, streamsBy);
      if (commit) {
        await this.connection.run(
          "INSERT INTO spool_commits VALUES ($spool, $position) ON CONFLICT (spool) DO UPDATE SET position = excluded.position",
          { spool: commit.spool, position: BigInt(commit.to) },
        );
      }
    } catch (error) {
      await this.connection.run("ROLLBACK").catch(() => undefined);
      // A playback the store no longer remembered was already stored: the plain INSERT refused
      // it, and the transaction with it. The same batch again, with the upsert.
      if (error instanceof StreamAlreadyStored) return this.writeNow(insert, commit, "upsert");
      throw error;
    }
    try {
      await this.connection.run("COMMIT");
    } catch (error) {
      // Committed or not, it cannot be told from here: remember nothing that might be stale.
      this.known.clear();
      throw error;
    }
    for (const [pid, t] of stored) this.known.set(pid, t);
  }

  /**
   * Adds the batch's streams: a playback's row holds its earliest qualifying event. DuckDB
   * 1.5's `INSERT … ON CONFLICT` costs time in proportion to the rows already in the table, even
   * when nothing conflicts (measured: 1.3 s per 100 batches of 20 000 events at 170 000 streams,
   * 14.5 s at 1.3 million, on the bench's two cores; the plain INSERT into the same table stayed
   * at 0.4–0.6 s, its key checked through the primary key's index). So the store remembers the
   * stream times it stored (KnownStreams) and:
   *
   * - a playback known with a time at or before the batch's is left alone (its row would not
   *   change), one not known is added with a plain INSERT;
   * - a playback known with a later time (an earlier event arrived late) sends the batch to the
   *   upsert, as does a plain INSERT refused because an unknown playback was stored after all
   *   (after a restart, or once forgotten). The upsert then reads back the batch's stream times.
   *
   * Returns the stream times this batch leaves in the table, to be remembered once committed.
   */
  private async writeStreams(batch: string, by: "insert" | "upsert"): Promise<Map<string, number>> {
    const written = new Map<string, number>();
    if (by === "insert") {
      const candidates = await this.connection.runAndReadAll(`SELECT pid, min(t) AS t FROM ${batch} WHERE ${QUALIFIES} GROUP BY pid`);
      const unknown: string[] = [];
      for (const [pid, t] of candidates.getRows() as Array<[string, bigint]>) {
        const known = this.known.get(pid);
        if (known === undefined) {
          unknown.push(pid);
          written.set(pid, Number(t));
        } else if (Number(t) < known) return this.writeStreams(batch, "upsert");
      }
      if (unknown.length === 0) return written;
      try {
        await this.connection.run(`INSERT INTO streams ${batchStreams(batch, " AND pid IN (SELECT unnest($pids::VARCHAR[]))")}`, {
          pids: listValue(unknown),
        });
      } catch (error) {
        throw new StreamAlreadyStored((error as Error).message);
      }
      return written;
    }
    await this.connection.run(`
      INSERT INTO streams ${batchStreams(batch)}
      ON CONFLICT (pid) DO UPDATE SET
        uid = excluded.uid, track = excluded.track, artist = excluded.artist, region = excluded.region,
        device = excluded.device, source = excluded.source, t = excluded.t
      WHERE excluded.t < streams.t`);
    const rows = await this.connection.runAndReadAll(
      `SELECT pid, t FROM streams WHERE pid IN (SELECT pid FROM ${batch} WHERE ${QUALIFIES})`,
    );
    for (const [pid, t] of rows.getRows() as Array<[string, bigint]>) written.set(pid, Number(t));
    return written;
  }

  private async appendEvents(events: readonly PlaybackEvent[], receivedAt: bigint): Promise<void> {
    const appender = await this.connection.createAppender("events");
    const text = (value: string | undefined) => (value === undefined ? appender.appendNull() : appender.appendVarchar(value));
    const count = (value: number | undefined) => (value === undefined ? appender.appendNull() : appender.appendBigInt(BigInt(value)));
    for (const event of events) {
      const row = event as unknown as Record<string, string | number | undefined>;
      for (const column of EVENT_COLUMNS) {
        const value = row[column.name];
        if (column.type === "BIGINT") count(value as number | undefined);
        else text(value as string | undefined);
      }
      appender.appendBigInt(receivedAt);
      appender.endRow();
    }
    appender.flushSync();
    appender.closeSync();
  }

  private reading: Promise<unknown> = Promise.resolve();

  private purgeTimer?: NodeJS.Timeout;

  /** Read queries run one at a time on the reader connection. */
  private rows(sql: string, values?: Record<string, DuckDBValue>): Promise<Record<string, unknown>[]> {
    const read = this.reading.then(async () => {
      try {
        return (await this.reader.runAndReadAll(sql, values)).getRowObjects() as Record<string, unknown>[];
      } finally {
        this.purgeAfterRead();
      }
    });
    this.reading = read.catch(() => undefined);
    return read;
  }

  /** At most one purge per purgeDelayMs, that long after the read that asked. */
  private purgeAfterRead(): void {
    if (!this.purgeFreedMemory || this.purgeTimer) return;
    this.purgeTimer = setTimeout(() => {
      this.purgeTimer = undefined;
      this.purgeFreedMemory?.();
    }, this.purgeDelayMs);
    this.purgeTimer.unref();
  }

  private async query(fragment: Fragment): Promise<Record<string, unknown>[]> {
    const { sql, values } = render(fragment);
    return this.rows(sql, values);
  }

  /** Rows stored, for tests, the lab and the benchmark. */
  async countEvents(): Promise<number> {
    const [row] = await this.rows("SELECT count(*) AS n FROM events");
    return num(row.n);
  }

  async close(): Promise<void> {
    await this.writing;
    await this.reading;
    clearTimeout(this.purgeTimer);
    this.purgeTimer = undefined;
    this.reader.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
