import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { findPostgresBin, startPostgres, type RunningPostgres } from "../../test-support/postgres";
import { describeWithTool, requireTool } from "../../test-support/tools";
import { Environment } from "../environment";
import { commandsFor, decideReap, guardTier, parseDuration } from "./operations";
import { LocalRegistry, PgRegistry, S3Objects, S3Registry, type EnvironmentRecord } from "./registry";

const root = join(__dirname, "..", "..");
/** The CLI without blocking this process, for servers that run inside the test (s3rver). */
function envAsync(args: string[], extra: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["ts-node", "--transpile-only", "lib/environments/cli.ts", ...args], {
      cwd: root,
      env: { ...process.env, ...extra },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
function env(args: string[], extra: Record<string, string> = {}) {
  const run = spawnSync("npx", ["ts-node", "--transpile-only", "lib/environments/cli.ts", ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, ...extra },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const now = new Date();
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
function record(branch: string, appliedAt: string): EnvironmentRecord {
  const environment = new Environment(branch, "test");
  return {
    slug: environment.slug,
    branch,
    tier: environment.tier,
    commit: "0123abcd",
    appliedAt,
    appliedBy: "ci",
    stacks: environment.ownsCluster
      ? ["cluster", "platform", "vpn", "analytics"].map((kind) => environment.stackId(kind))
      : [environment.stackId("analytics")],
  };
}
/** Environments in every state the reaper must tell apart. */
const fleet = {
  main: record("main", daysAgo(30)),
  staging: record("staging", daysAgo(30)),
  keep: record("feature/keep", daysAgo(1)),
  gone: record("feature/gone", daysAgo(1)),
  old: record("feature/old", daysAgo(10)),
};
const unrecorded = new Environment("feature/unrecorded", "test");

/** A real git repository with the branches that still exist. */
function gitRemote(): string {
  const dir = mkdtempSync(join(tmpdir(), "remote-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: dir, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("commit", "-q", "--allow-empty", "-m", "init");
  for (const branch of ["staging", "feature/keep", "feature/old"]) git("branch", branch);
  return dir;
}

function localState(): string {
  const dir = mkdtempSync(join(tmpdir(), "state-"));
  for (const item of [...Object.values(fleet), record(unrecorded.branch, daysAgo(1))]) {
    for (const stack of item.stacks) writeFileSync(join(dir, `${stack}.tfstate`), "{}");
  }
  mkdirSync(join(dir, "environments"));
  for (const item of Object.values(fleet)) writeFileSync(join(dir, "environments", `${item.slug}.json`), JSON.stringify(item));
  return dir;
}

describe("environments CLI, local state directory", () => {
  const state = localState();

  it("lists every environment with state, with its branch recovered from its record", () => {
    const run = env(["--backend", `local:${state}`, "list", "--json"]);
    expect(run.status).toBe(0);
    const listed = JSON.parse(run.stdout) as Array<{ slug: string; tier: string; stacks: string[]; record?: EnvironmentRecord }>;
    expect(listed.map((item) => [item.slug, item.tier, item.record?.branch ?? null])).toEqual(
      [
        [fleet.gone.slug, "preview", "feature/gone"],
        [fleet.keep.slug, "preview", "feature/keep"],
        [fleet.old.slug, "preview", "feature/old"],
        [unrecorded.slug, "preview", null],
        ["main", "production", "main"],
        ["staging", "staging", "staging"],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(listed.find((item) => item.slug === "main")!.stacks).toEqual(["analytics-main", "cluster-main", "platform-main", "vpn-main"]);
  });

  it("reaps (dry run) previews whose branch is gone or that are too old, refuses production, staging and the unrecorded", () => {
    const run = env(["--backend", `local:${state}`, "reap", "--branches-from", gitRemote(), "--max-age", "7d", "--dry-run"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`destroy ${fleet.gone.slug} (feature/gone): branch feature/gone no longer exists`);
    expect(run.stdout).toMatch(new RegExp(`destroy ${fleet.old.slug} \\(feature/old\\): last applied 2\\d\\d h ago, over the 168 h limit`));
    expect(run.stdout).toContain(`keep ${fleet.keep.slug} (feature/keep)`);
    expect(run.stdout).toContain(`refuse ${unrecorded.slug}: no environment record`);
    expect(run.stdout).toContain("refuse main (main): production is never reaped");
    expect(run.stdout).toContain("refuse staging (staging): staging is never reaped");
    // A deleted branch is destroyed by synthesizing its stored name again.
    expect(run.stdout).toContain(
      `would run: CDKTF_ENV=feature/gone CHECKPOINT_DISABLE=1 STREAMSTATS_DESTROY_ENVIRONMENT=1 npx cdktf destroy --skip-synth --auto-approve analytics-${fleet.gone.slug}`,
    );
    expect(run.stdout).toContain("reap: 2 to destroy (dry run), 1 kept, 3 refused");
    // The dry run changed nothing.
    expect((JSON.parse(env(["--backend", `local:${state}`, "list", "--json"]).stdout) as unknown[]).length).toBe(6);
  });

  it("deploys exactly a branch's stacks, and refuses production and staging unless the tier is named", () => {
    const preview = env(["deploy", "feature/keep", "--print"]);
    expect(preview.stdout).toBe(
      [
        "would run: CDKTF_ENV=feature/keep CHECKPOINT_DISABLE=1 npx cdktf synth",
        `would run: CDKTF_ENV=feature/keep CHECKPOINT_DISABLE=1 npx cdktf deploy --skip-synth --auto-approve analytics-${fleet.keep.slug}`,
        "",
      ].join("\n"),
    );
    const refused = env(["destroy", "staging", "--print"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("refusing staging: it is staging; pass --tier staging to confirm");
    const confirmed = env(["plan", "main", "--tier", "production", "--print"]);
    expect(confirmed.stdout.split("\n").filter((line) => line.includes("cdktf diff"))).toHaveLength(4);
  });
});

describe("environments: decisions and command lines", () => {
  it("never picks production or staging, even without their branches", () => {
    const decisions = decideReap(
      [
        { slug: "main", tier: "production", stacks: ["cluster-main"], record: fleet.main },
        { slug: "staging", tier: "staging", stacks: ["cluster-staging"], record: fleet.staging },
      ],
      new Set(),
      1,
      now,
    );
    expect(decisions.map((decision) => decision.action)).toEqual(["refuse", "refuse"]);
  });

  it("rejects a bad --max-age and a tier that does not match", () => {
    expect(parseDuration("36h")).toBe(36 * 3_600_000);
    expect(() => parseDuration("a week")).toThrow(/--max-age "a week" must be a number with d, h or m/);
    expect(() => guardTier(new Environment("feature/x", "test"), "production")).toThrow(/feature\/x is a preview, not production/);
    expect(commandsFor("destroy", new Environment("staging", "test")).at(-1)!.argv.slice(-4)).toEqual([
      "analytics-staging",
      "vpn-staging",
      "platform-staging",
      "cluster-staging",
    ]);
  });
});

const isRoot = process.getuid?.() === 0;
const postgresBin = findPostgresBin() ?? requireTool("initdb", "apt-get install postgresql");
if (!isRoot && postgresBin) {
  if (process.env.CI === "true") throw new Error("CI: the PostgreSQL test runs the server as the postgres user and needs root");
  console.warn("SKIPPING: the PostgreSQL test needs root (to run the server as the postgres user)");
}
describeWithTool(postgresBin && isRoot ? postgresBin : undefined)("environments CLI, pg backend (a real PostgreSQL)", () => {
  let postgres: RunningPostgres;

  beforeAll(async () => {
    postgres = await startPostgres(postgresBin!);
    const client = new Client({ connectionString: postgres.connectionString });
    await client.connect();
    // The layout Terraform's pg backend creates per stack (opentofu internal/backend/remote-state/pg/backend.go):
    // a schema with a `states` table of (id, name, data); an initialised stack that was never applied has no row.
    await client.query("CREATE SEQUENCE IF NOT EXISTS public.global_states_id_seq");
    for (const item of [fleet.main, fleet.gone, fleet.keep]) {
      for (const stack of item.stacks) {
        const schema = `streamstats_${stack.replace(/-/g, "_")}`;
        await client.query(`CREATE SCHEMA "${schema}"`);
        await client.query(
          `CREATE TABLE "${schema}".states (id bigint NOT NULL DEFAULT nextval('public.global_states_id_seq') PRIMARY KEY, name text UNIQUE, data text)`,
        );
        await client.query(`INSERT INTO "${schema}".states (name, data) VALUES ('default', '{}')`);
      }
    }
    await client.query(`CREATE SCHEMA "streamstats_analytics_never_applied"`);
    await client.query(`CREATE TABLE "streamstats_analytics_never_applied".states (id bigint PRIMARY KEY, name text, data text)`);
    await client.end();
    const registry = new PgRegistry(postgres.connectionString, "streamstats");
    for (const item of [fleet.main, fleet.gone, fleet.keep]) await registry.write(item);
    await registry.close();
  }, 60_000);

  afterAll(() => postgres?.stop());

  it("lists the stacks that have state, with their records", () => {
    const run = env(["--backend", "pg:streamstats", "list", "--json"], { PG_CONN_STR: postgres.connectionString });
    expect(run.stderr).toBe("");
    const listed = JSON.parse(run.stdout) as Array<{ slug: string; stacks: string[]; record?: EnvironmentRecord }>;
    expect(listed.map((item) => [item.slug, item.record?.branch])).toEqual([
      [fleet.gone.slug, "feature/gone"],
      [fleet.keep.slug, "feature/keep"],
      ["main", "main"],
    ]);
  });

  it("reaps the preview whose branch is gone, and forgets its record only after a real destroy", async () => {
    const run = env(["--backend", "pg:streamstats", "reap", "--branches-from", gitRemote(), "--dry-run"], {
      PG_CONN_STR: postgres.connectionString,
    });
    expect(run.stdout).toContain(`destroy ${fleet.gone.slug} (feature/gone): branch feature/gone no longer exists`);
    expect(run.stdout).toContain("reap: 1 to destroy (dry run), 1 kept, 1 refused");
    const registry = new PgRegistry(postgres.connectionString, "streamstats");
    expect((await registry.list()).filter((item) => item.record).length).toBe(3);
    await registry.remove(fleet.gone.slug);
    expect((await registry.list()).find((item) => item.slug === fleet.gone.slug)!.record).toBeUndefined();
    await registry.close();
  });

  it("reads PG_CONN_STR like the backend, and says so when it is missing", () => {
    const run = env(["--backend", "pg:streamstats", "list"], { PG_CONN_STR: "" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("backend pg needs PG_CONN_STR");
  });
});

describe("LocalRegistry", () => {
  it("writes and removes records next to the state", async () => {
    const dir = mkdtempSync(join(tmpdir(), "state-"));
    writeFileSync(join(dir, "analytics-feature-keep.tfstate"), "{}");
    const registry = new LocalRegistry(dir);
    await registry.write({ ...fleet.keep, slug: "feature-keep" });
    expect((await registry.list())[0].record?.branch).toBe("feature/keep");
    await registry.remove("feature-keep");
    expect((await registry.list())[0].record).toBeUndefined();
  });
});

describe("environments CLI, s3 backend (s3rver, an S3 API server on loopback)", () => {
  // s3rver implements the S3 REST API (ListObjectsV2, Get/Put/DeleteObject) over HTTP. It accepted a
  // wrong secret when tried, so the SigV4 signing itself is not proven here (README: assumptions).
  let server: { close(): Promise<void> };
  let endpoint: string;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

  beforeAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const S3rver = require("s3rver") as new (options: Record<string, unknown>) => {
      run(): Promise<{ port: number }>;
      close(): Promise<void>;
    };
    const instance = new S3rver({
      port: 0,
      address: "127.0.0.1",
      silent: true,
      directory: mkdtempSync(join(tmpdir(), "s3rver-")),
      configureBuckets: [{ name: "tf-state" }],
    });
    const { port } = await instance.run();
    server = instance;
    endpoint = `http://127.0.0.1:${port}`;
    const objects = new S3Objects("tf-state", "us-east-1", endpoint, credentials);
    for (const item of [fleet.main, fleet.gone]) for (const stack of item.stacks) await objects.put(`streamstats/${stack}.tfstate`, "{}");
    await objects.put("streamstats/unrelated/other.tfstate", "{}");
    await new S3Registry(objects, "streamstats").write(fleet.gone);
  });

  afterAll(async () => server?.close());

  it("lists the environments whose state is under the key prefix, with their records", async () => {
    const backend = JSON.stringify({ bucket: "tf-state", region: "us-east-1", keyPrefix: "streamstats", endpoint });
    const run = await envAsync(["--backend", `s3:${backend}`, "list", "--json"], {
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    });
    expect(run.stderr).toBe("");
    const listed = JSON.parse(run.stdout) as Array<{ slug: string; stacks: string[]; record?: EnvironmentRecord }>;
    expect(listed.map((item) => [item.slug, item.record?.branch ?? null, item.stacks.length])).toEqual([
      [fleet.gone.slug, "feature/gone", 1],
      ["main", null, 4],
    ]);
  });
});
