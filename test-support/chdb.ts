import { Session, drainPending } from "chdb";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClickHouseConnection } from "../app/src/store/clickhouse-store";

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

  insert(table: string, body: Buffer | string, settings: Record<string, number> = {}): Promise<void> {
    const using = Object.entries(settings).map(([name, value]) => `${name} = ${value}`);
    return this.command(`INSERT INTO ${table}${using.length ? ` SETTINGS ${using.join(", ")}` : ""} FORMAT JSONEachRow\n${body.toString()}`);
  }

  async close(): Promise<void> {
    await this.queue;
    this.session.close();
    // The next session may open only once this one's native work is gone.
    await drainPending();
    if (this.temporary) rmSync(this.temporary, { recursive: true, force: true });
  }
}
