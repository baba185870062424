import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./collector-process";

export interface RunningClickHouse {
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server but keeps its data, to be started again (an outage). */
  pause(): Promise<void>;
  /** Starts it again on the same data and ports. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClickHouseOptions {
  /** Runs the server inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** @default 127.0.0.1 */
  readonly listenHost?: string;
  /** Where the test reaches it. @default listenHost */
  readonly urlHost?: string;
  /** The network the default user may connect from. @default 127.0.0.1 */
  readonly clientNetwork?: string;
  /** Runs the server (all its threads) at this nice value. @default 0 */
  readonly nice?: number;
}

/** A real clickhouse-server (on loopback by default), with its data directory under a fresh temp dir. */
export async function startClickHouse(binary: string, options: ClickHouseOptions = {}): Promise<RunningClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), "clickhouse-"));
  for (const sub of ["data", "tmp", "user_files", "format_schemas"]) mkdirSync(join(dir, sub));
  // A fresh namespace has every port free; the root namespace needs free ones.
  const [httpPort, tcpPort] = options.netns ? [8123, 9000] : [await freePort(), await freePort()];
  const listenHost = options.listenHost ?? "127.0.0.1";
  writeFileSync(
    join(dir, "config.xml"),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>${listenHost}</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>536870912</mark_cache_size>
</yandex>
`,
  );
  writeFileSync(
    join(dir, "users.xml"),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>${options.clientNetwork ?? "127.0.0.1"}</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  const url = `http://${options.urlHost ?? listenHost}:${httpPort}`;
  let server = await launch(binary, dir, url, options.netns, options.nice);
  const halt = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    server.stdout?.destroy();
    server.stderr?.destroy();
  };
  return {
    url,
    dataDir: dir,
    pause: halt,
    async resume() {
      server = await launch(binary, dir, url, options.netns, options.nice);
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(binary: string, dir: string, url: string, netns?: string, nice = 0): Promise<ChildProcess> {
  let output = "";
  // nice execs the server, so the child is the server itself and every thread it starts inherits the value.
  const command = [...(nice ? ["nice", "-n", String(nice)] : []), binary, `--config-file=${join(dir, "config.xml")}`];
  const [file, ...args] = netns ? ["ip", "netns", "exec", netns, ...command] : command;
  const server: ChildProcess = spawn(file, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  server.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await fetch(`${url}/?query=SELECT%201`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return server;
    if (Date.now() > deadline || server.exitCode !== null) {
      server.kill("SIGKILL");
      throw new Error(`clickhouse-server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
