import { Session, drainPending } from "chdb";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClickHouseConnection, InsertOptions } from "../app/src/store/clickhouse-store";
import type { RowColumn } from "../app/src/store/row-binary";

/**
 * A modern ClickHouse engine in this process: chdb runs ClickHouse 26.7 (npm `chdb` 3.4.0) on a
 * session directory, so the store's statements for a current server run here without one. One
 * session per process; `USE` is remembered by the session, so each query names its database.
 */
export class ChdbConnection implements ClickHouseConnection {
  private readonly session: Session;
  private temporary?: string;

  /** On `dir` (kept when closed), or on a fresh directory removed when closed. */
  constructor(readonly dir?: string) {
    this.session = new Session(dir ?? (this.temporary = mkdtempSync(join(tmpdir(), "chdb-"))));
  }

  /** Queries run one at a time: the session's current database is shared state. */
  private queue: Promise<unknown> = Promise.resolve();

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  rows(sql: string, database?: string): Promise<Record<string, unknown>[]> {
    return this.serial(async () => {
      await this.session.queryAsync(`USE ${database ?? "default"}`);
      const text = (await this.session.queryAsync(sql, { format: "JSONEachRow" })).text();
      return text
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    });
  }

  command(sql: string): Promise<void> {
    return this.serial(async () => {
      await this.session.queryAsync(sql);
    });
  }

  insert(table: string, body: Buffer | string, { format = "JSONEachRow", columns, settings = {} }: InsertOptions = {}): Promise<void> {
    const using = Object.entries(settings).map(([name, value]) => `${name} = ${value}`);
    const settingsSql = using.length ? ` SETTINGS ${using.join(", ")}` : "";
    if (format === "JSONEachRow") return this.command(`INSERT INTO ${table}${settingsSql} FORMAT JSONEachRow\n${body.toString()}`);
    // A query is text, so binary rows go through the format() table function, each byte escaped.
    if (!columns) throw new Error(`ChdbConnection: a ${format} insert names its columns`);
    return this.serial(async () => {
      const names = columns.map((column) => column.name).join(", ");
      const escaped = Array.from(Buffer.from(body), (byte) => `\\x${byte.toString(16).padStart(2, "0")}`).join("");
      // A Native block names its columns' types itself (the INSERT converts them to the table's,
      // as the Native reader does over HTTP); RowBinary rows are read as the table's types.
      const source =
        format === "Native"
          ? `format(Native, '${escaped}')`
          : `format(RowBinary, '${await this.structureOf(table, columns)}', '${escaped}')`;
      // The parser's limit applies before a query's own SETTINGS are read.
      await this.session.queryAsync(`SET max_query_size = ${escaped.length + 65_536}`);
      await this.session.queryAsync(`INSERT INTO ${table} (${names}) SELECT ${names} FROM ${source}${settingsSql}`);
    });
  }

  /** `name type, …` of the table's `columns`, as the table declares them. */
  private async structureOf(table: string, columns: readonly RowColumn[]): Promise<string> {
    const [database, name] = table.split(".");
    const types = new Map(
      (
        await this.session.queryAsync(`SELECT name, type FROM system.columns WHERE database = '${database}' AND table = '${name}'`, {
          format: "TSV",
        })
      )
        .text()
        .trim()
        .split("\n")
        .map((line) => line.split("\t") as [string, string]),
    );
    return columns.map((column) => `${column.name} ${types.get(column.name)}`).join(", ");
  }

  async close(): Promise<void> {
    await this.queue;
    this.session.close();
    // The next session may open only once this one's native work is gone.
    await drainPending();
    if (this.temporary) rmSync(this.temporary, { recursive: true, force: true });
  }
}
