import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { SETTINGS, configFromEnvironment, parseCollectorConfig } from "./config";

describe("collector config", () => {
  it("has working defaults", () => {
    expect(parseCollectorConfig({})).toMatchObject({ udpPort: 8125, udpHosts: ["0.0.0.0", "::"], maxDatagramBytes: 8192, store: "duckdb" });
  });

  it.each([
    [{ udpPort: "70000" }, /udpPort: Too big: expected number to be <=65535 \(got "70000"\)/],
    [{ batchSize: "abc" }, /batchSize: expected a number \(got "abc"\)$/m],
    [{ maxDatagramBytes: 70_000 }, /maxDatagramBytes: .*65507.*\(got 70000\)/],
    [{ udpHosts: "0.0.0.0,not-an-ip" }, /udpHosts\.1: /],
    [{ spoolMaxBytes: 100_000, spoolSegmentBytes: 60_000 }, /spoolMaxBytes: must be at least twice spoolSegmentBytes/],
    [{ spoolReadyMaxRatio: "1.5" }, /spoolReadyMaxRatio: .*<=1 \(got "1.5"\)/],
    [{ logLevel: "loud" }, /logLevel: .*\(got "loud"\)/],
    [{ dedupeMaxEntries: "100000000" }, /dedupeMaxEntries: Too big: .*\(got "100000000"\)/],
    [{ duckdbRowGroupSize: "10000" }, /duckdbRowGroupSize: .*multiple of 2048 \(got "10000"\)/],
    [{ duckdbRowGroupSize: "245760" }, /duckdbRowGroupSize: Too big: .*\(got "245760"\)/],
    [{ duckdbMemoryLimitMegabytes: "32" }, /duckdbMemoryLimitMegabytes: Too small: .*>=64 \(got "32"\)/],
    [{ duckdbAllocatorDecayMs: "-2" }, /duckdbAllocatorDecayMs: Too small: .*\(got "-2"\)/],
    [{ duckdbAllocatorDecayMs: "never" }, /duckdbAllocatorDecayMs: Invalid input \(got "never"\)/],
    [{ udpPrt: 1 }, /Unrecognized key: "udpPrt"/],
    [{ store: "clickhouse" }, /clickhouseUrl: is required when store is clickhouse/],
    [{ store: "postgres" }, /store: .*\(got "postgres"\)/],
    [{ authRequired: "true" }, /authKeys: is required when authRequired is set/],
  ])("rejects %j naming the setting", (input, message) => {
    expect(() => parseCollectorConfig(input as never)).toThrow(message);
  });

  it("keeps DuckDB's freed memory unless told to leave DuckDB's allocator alone", () => {
    expect(parseCollectorConfig({}).duckdbAllocatorDecayMs).toBe(-1);
    expect(parseCollectorConfig({ duckdbAllocatorDecayMs: "duckdb" }).duckdbAllocatorDecayMs).toBe("duckdb");
    expect(parseCollectorConfig({ duckdbAllocatorDecayMs: "30000" }).duckdbAllocatorDecayMs).toBe(30_000);
  });

  it("reads COLLECTOR_* variables", () => {
    expect(configFromEnvironment({ COLLECTOR_UDP_PORT: "9000", COLLECTOR_DUCKDB_PATH: "/data/x.duckdb", OTHER: "1" })).toEqual({
      udpPort: "9000",
      duckdbPath: "/data/x.duckdb",
    });
  });

  it("names where a bad value came from and what was given", () => {
    expect(() =>
      parseCollectorConfig({ ...configFromEnvironment({ COLLECTOR_BATCH_SIZE: "abc" }) }, { batchSize: "COLLECTOR_BATCH_SIZE" }),
    ).toThrow('batchSize (COLLECTOR_BATCH_SIZE): expected a number (got "abc")');
  });

  it("derives every flag and variable from the schema, secrets from the environment only", () => {
    const byKey = Object.fromEntries(SETTINGS.map((setting) => [setting.key, setting]));
    expect(byKey.udpPort).toEqual({
      key: "udpPort",
      flag: "--udp-port",
      env: "COLLECTOR_UDP_PORT",
      description: "UDP port events arrive on",
      defaultValue: "8125",
    });
    expect(byKey.udpHosts.defaultValue).toBe("0.0.0.0,::");
    expect(byKey.recvBufferBytes.defaultValue).toBeUndefined();
    for (const secret of ["clickhousePassword", "authKeys", "apiToken"]) expect(byKey[secret].flag).toBeUndefined();
    for (const setting of SETTINGS) expect(setting.description.length).toBeGreaterThan(5);
    // Each default, parsed back, is what the schema produces when the setting is left out.
    const defaults = parseCollectorConfig({});
    for (const setting of SETTINGS.filter((entry) => entry.defaultValue !== undefined)) {
      const parsed = parseCollectorConfig({ [setting.key]: setting.defaultValue } as never);
      expect({ [setting.key]: parsed[setting.key] }).toEqual({ [setting.key]: defaults[setting.key] });
    }
  });

  it("shows every flag with its variable and default in --help", () => {
    const help = execFileSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", join(__dirname, "cli", "main.ts"), "serve", "--help"],
      {
        encoding: "utf8",
        env: { ...process.env, COLUMNS: "400" },
      },
    );
    for (const setting of SETTINGS) {
      if (!setting.flag) {
        expect(help).toContain(setting.env);
        continue;
      }
      const line = help.split("\n").find((entry) => entry.trimStart().startsWith(`${setting.flag} `));
      expect({ flag: setting.flag, line }).toEqual({ flag: setting.flag, line: expect.stringContaining(setting.env) });
      if (setting.defaultValue !== undefined)
        expect(line).toContain(`default ${setting.defaultValue === "" ? '""' : setting.defaultValue})`);
    }
  }, 30_000);
});
