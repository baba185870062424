import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./collector-process";

export interface RunningPostgres {
  readonly connectionString: string;
  stop(): void;
}

/** Debian's PostgreSQL server binaries (package postgresql), newest version first. */
export function findPostgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  const bin = versions.map((version) => join(root, version, "bin")).find((dir) => existsSync(join(dir, "initdb")));
  return bin;
}

/**
 * A real PostgreSQL on loopback with a fresh data directory. PostgreSQL refuses to run as root,
 * so initdb and the server run as the `postgres` user the Debian package creates.
 */
export async function startPostgres(bin: string): Promise<RunningPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "postgres-"));
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  const asPostgres = (args: string[]) =>
    execFileSync("runuser", ["-u", "postgres", "--", ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  asPostgres([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  asPostgres([
    join(bin, "pg_ctl"),
    "-D",
    data,
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "-w",
    "-l",
    join(dir, "log"),
    "start",
  ]);
  return {
    connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      spawnSync("runuser", ["-u", "postgres", "--", join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
