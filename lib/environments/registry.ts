import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import aws4 from "aws4";
import { Client } from "pg";
import type { BackendConfig } from "../../config/schema";
import { STAGING_BRANCH, PRODUCTION_BRANCH, type Tier } from "../environment";

/** The stacks an environment can have; each stack id is `<kind>-<slug>`. */
export const STACK_KINDS = ["cluster", "platform", "vpn", "analytics"] as const;

/**
 * What we keep next to an environment's state: enough to find and destroy it after its branch
 * is gone (the slug alone cannot be turned back into a branch name). No secret goes here.
 */
export interface EnvironmentRecord {
  readonly slug: string;
  readonly branch: string;
  readonly tier: Tier;
  readonly commit: string;
  /** ISO time of the last successful apply. */
  readonly appliedAt: string;
  readonly appliedBy: string;
  readonly stacks: readonly string[];
}

/** An environment that has state, with its record when one was written. */
export interface EnvironmentState {
  readonly slug: string;
  readonly tier: Tier;
  readonly stacks: readonly string[];
  readonly record?: EnvironmentRecord;
}

export interface EnvironmentRegistry {
  /** Every environment with state in the backend, by slug. */
  list(): Promise<EnvironmentState[]>;
  write(record: EnvironmentRecord): Promise<void>;
  remove(slug: string): Promise<void>;
  close(): Promise<void>;
}

/** The tier a slug belongs to: only `main` and `staging` are not previews. */
export function tierOfSlug(slug: string): Tier {
  return slug === PRODUCTION_BRANCH ? "production" : slug === STAGING_BRANCH ? "staging" : "preview";
}

/** `analytics-feature-x-1a2b3c` → slug `feature-x-1a2b3c`; undefined for ids that are not ours. */
export function slugOfStack(stackId: string): string | undefined {
  const kind = STACK_KINDS.find((candidate) => stackId.startsWith(`${candidate}-`));
  return kind ? stackId.slice(kind.length + 1) : undefined;
}

function group(stackIds: readonly string[], records: ReadonlyMap<string, EnvironmentRecord>): EnvironmentState[] {
  const bySlug = new Map<string, string[]>();
  for (const id of stackIds) {
    const slug = slugOfStack(id);
    if (slug) bySlug.set(slug, [...(bySlug.get(slug) ?? []), id]);
  }
  return [...bySlug]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([slug, stacks]) => ({
      slug,
      tier: tierOfSlug(slug),
      stacks: stacks.sort(),
      ...(records.has(slug) ? { record: records.get(slug) } : {}),
    }));
}

function validRecord(value: unknown, where: string): EnvironmentRecord {
  const record = value as EnvironmentRecord;
  if (typeof record?.slug !== "string" || typeof record.branch !== "string" || typeof record.appliedAt !== "string") {
    throw new Error(`${where}: not an environment record (needs slug, branch, appliedAt)`);
  }
  return record;
}

/** `local` backend: `<dir>/<stack-id>.tfstate`, records in `<dir>/environments/<slug>.json`. */
export class LocalRegistry implements EnvironmentRegistry {
  constructor(private readonly directory: string) {}

  private get recordsDirectory(): string {
    return join(this.directory, "environments");
  }

  async list(): Promise<EnvironmentState[]> {
    let files: string[] = [];
    try {
      files = readdirSync(this.directory);
    } catch {
      return [];
    }
    const stackIds = files.filter((file) => file.endsWith(".tfstate")).map((file) => file.slice(0, -".tfstate".length));
    const records = new Map<string, EnvironmentRecord>();
    try {
      for (const file of readdirSync(this.recordsDirectory).filter((name) => name.endsWith(".json"))) {
        const path = join(this.recordsDirectory, file);
        const record = validRecord(JSON.parse(readFileSync(path, "utf8")), path);
        records.set(record.slug, record);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return group(stackIds, records);
  }

  async write(record: EnvironmentRecord): Promise<void> {
    mkdirSync(this.recordsDirectory, { recursive: true });
    writeFileSync(join(this.recordsDirectory, `${record.slug}.json`), `${JSON.stringify(record, null, 2)}\n`);
  }

  async remove(slug: string): Promise<void> {
    rmSync(join(this.recordsDirectory, `${slug}.json`), { force: true });
  }

  async close(): Promise<void> {}
}

/**
 * `pg` backend: the state of stack `<id>` is in schema `<prefix>_<id, dashes as underscores>`
 * (table `states`, as Terraform's pg backend creates it); records in `<prefix>__environments`.
 */
export class PgRegistry implements EnvironmentRegistry {
  private readonly client: Client;
  private connected?: Promise<unknown>;

  constructor(
    connectionString: string,
    private readonly schemaPrefix: string,
  ) {
    this.client = new Client({ connectionString });
  }

  private get recordsTable(): string {
    return `"${this.schemaPrefix}__environments".environments`;
  }

  private async connect(): Promise<Client> {
    this.connected ??= this.client.connect();
    await this.connected;
    return this.client;
  }

  async list(): Promise<EnvironmentState[]> {
    const client = await this.connect();
    const prefix = `${this.schemaPrefix}_`;
    // Schemas whose states table exists and holds a state: an initialised, deployed stack.
    const schemas = await client.query<{ schema: string }>(
      `SELECT table_schema AS schema FROM information_schema.tables
       WHERE table_name = 'states' AND starts_with(table_schema, $1) AND table_schema <> $2`,
      [prefix, `${this.schemaPrefix}__environments`],
    );
    const stackIds: string[] = [];
    for (const { schema } of schemas.rows) {
      const rows = await client.query<{ count: string }>(`SELECT count(*) AS count FROM "${schema}".states`);
      if (Number(rows.rows[0].count) > 0) stackIds.push(schema.slice(prefix.length).replace(/_/g, "-"));
    }
    const records = new Map<string, EnvironmentRecord>();
    const table = await client.query(`SELECT to_regclass($1) AS exists`, [this.recordsTable]);
    if (table.rows[0].exists) {
      for (const row of (await client.query<{ record: unknown }>(`SELECT record FROM ${this.recordsTable}`)).rows) {
        const record = validRecord(row.record, this.recordsTable);
        records.set(record.slug, record);
      }
    }
    return group(stackIds, records);
  }

  async write(record: EnvironmentRecord): Promise<void> {
    const client = await this.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schemaPrefix}__environments"`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${this.recordsTable} (slug text PRIMARY KEY, record jsonb NOT NULL)`);
    await client.query(
      `INSERT INTO ${this.recordsTable} (slug, record) VALUES ($1, $2) ON CONFLICT (slug) DO UPDATE SET record = EXCLUDED.record`,
      [record.slug, JSON.stringify(record)],
    );
  }

  async remove(slug: string): Promise<void> {
    const client = await this.connect();
    const table = await client.query(`SELECT to_regclass($1) AS exists`, [this.recordsTable]);
    if (table.rows[0].exists) await client.query(`DELETE FROM ${this.recordsTable} WHERE slug = $1`, [slug]);
  }

  async close(): Promise<void> {
    if (this.connected) await this.client.end();
  }
}

/** An S3-compatible store reached with SigV4-signed requests (path style with a custom endpoint). */
export class S3Objects {
  private readonly base: URL;
  private readonly pathStyle: boolean;

  constructor(
    private readonly bucket: string,
    private readonly region: string,
    endpoint: string | undefined,
    private readonly credentials: { accessKeyId: string; secretAccessKey: string },
  ) {
    this.pathStyle = endpoint !== undefined;
    this.base = new URL(endpoint ?? `https://${bucket}.s3.${region}.amazonaws.com`);
  }

  private async request(method: string, key: string, query = "", body?: string): Promise<Response> {
    const prefix = this.base.pathname.replace(/\/$/, "");
    const path = `${prefix}${this.pathStyle ? `/${this.bucket}` : ""}/${key.split("/").map(encodeURIComponent).join("/")}${query ? `?${query}` : ""}`;
    const signed = aws4.sign(
      {
        host: this.base.host,
        path,
        method,
        service: "s3",
        region: this.region,
        headers: body ? { "content-type": "application/json" } : {},
        ...(body ? { body } : {}),
      },
      this.credentials,
    );
    const response = await fetch(`${this.base.protocol}//${this.base.host}${path}`, {
      method,
      headers: signed.headers as Record<string, string>,
      body,
    });
    if (!response.ok && response.status !== 404)
      throw new Error(`environments: S3 ${method} ${path} answered ${response.status} ${await response.text()}`);
    return response;
  }

  /** Every key under a prefix (ListObjectsV2, following continuation tokens). */
  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query = `list-type=2&prefix=${encodeURIComponent(prefix)}${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`;
      const xml = await (await this.request("GET", "", query)).text();
      for (const match of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(match[1].replace(/&amp;/g, "&"));
      token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
    } while (token);
    return keys;
  }

  async get(key: string): Promise<string | undefined> {
    const response = await this.request("GET", key);
    return response.status === 404 ? undefined : response.text();
  }

  async put(key: string, body: string): Promise<void> {
    await this.request("PUT", key, "", body);
  }

  async delete(key: string): Promise<void> {
    await this.request("DELETE", key);
  }
}

/** `s3` backend: state at `<keyPrefix>/<stack-id>.tfstate`, records at `<keyPrefix>/environments/<slug>.json`. */
export class S3Registry implements EnvironmentRegistry {
  constructor(
    private readonly objects: S3Objects,
    private readonly keyPrefix: string,
  ) {}

  async list(): Promise<EnvironmentState[]> {
    const prefix = `${this.keyPrefix.replace(/\/+$/, "")}/`;
    const keys = await this.objects.keys(prefix);
    const stackIds = keys
      .filter((key) => /^[^/]+\.tfstate$/.test(key.slice(prefix.length)))
      .map((key) => key.slice(prefix.length, -".tfstate".length));
    const records = new Map<string, EnvironmentRecord>();
    for (const key of keys.filter((candidate) => candidate.startsWith(`${prefix}environments/`) && candidate.endsWith(".json"))) {
      const record = validRecord(JSON.parse((await this.objects.get(key)) ?? "null"), key);
      records.set(record.slug, record);
    }
    return group(stackIds, records);
  }

  async write(record: EnvironmentRecord): Promise<void> {
    await this.objects.put(
      `${this.keyPrefix.replace(/\/+$/, "")}/environments/${record.slug}.json`,
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }

  async remove(slug: string): Promise<void> {
    await this.objects.delete(`${this.keyPrefix.replace(/\/+$/, "")}/environments/${slug}.json`);
  }

  async close(): Promise<void> {}
}

/** The registry for the site's state backend; `pg` reads PG_CONN_STR and `s3` AWS_* like the backends do. */
export function registryFor(backend: BackendConfig, repositoryRoot: string, env: NodeJS.ProcessEnv = process.env): EnvironmentRegistry {
  switch (backend.type) {
    case "local":
      return new LocalRegistry(join(repositoryRoot, backend.directory));
    case "pg": {
      const connection = env.PG_CONN_STR;
      if (!connection) throw new Error("environments: backend pg needs PG_CONN_STR in the environment, as Terraform's pg backend does");
      return new PgRegistry(connection, backend.schemaPrefix);
    }
    case "s3": {
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey)
        throw new Error("environments: backend s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as Terraform's s3 backend does");
      return new S3Registry(
        new S3Objects(backend.bucket, backend.region, backend.endpoint, { accessKeyId, secretAccessKey }),
        backend.keyPrefix,
      );
    }
  }
}
