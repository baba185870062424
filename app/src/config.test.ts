import { configFromEnvironment, parseCollectorConfig } from "./config";

describe("collector config", () => {
  it("has working defaults", () => {
    expect(parseCollectorConfig({})).toMatchObject({ udpPort: 8125, udpHosts: ["0.0.0.0", "::"], maxDatagramBytes: 8192, store: "duckdb" });
  });

  it.each([
    [{ udpPort: "70000" }, /udpPort: Too big: expected number to be <=65535 \(got 70000\)/],
    [{ maxDatagramBytes: 70_000 }, /maxDatagramBytes: .*65507.*\(got 70000\)/],
    [{ udpHosts: "0.0.0.0,not-an-ip" }, /udpHosts\.1: /],
    [{ spoolMaxBytes: 100_000, spoolSegmentBytes: 60_000 }, /spoolMaxBytes: must be at least twice spoolSegmentBytes/],
    [{ spoolReadyMaxRatio: "1.5" }, /spoolReadyMaxRatio: .*<=1 \(got 1.5\)/],
    [{ logLevel: "loud" }, /logLevel: .*\(got "loud"\)/],
    [{ dedupeMaxEntries: "100000000" }, /dedupeMaxEntries: Too big: .*\(got 100000000\)/],
    [{ udpPrt: 1 }, /Unrecognized key: "udpPrt"/],
    [{ store: "clickhouse" }, /clickhouseUrl: is required when store is clickhouse/],
    [{ store: "postgres" }, /store: .*\(got "postgres"\)/],
    [{ authRequired: "true" }, /authKeys: is required when authRequired is set/],
  ])("rejects %j naming the setting", (input, message) => {
    expect(() => parseCollectorConfig(input as never)).toThrow(message);
  });

  it("reads COLLECTOR_* variables", () => {
    expect(configFromEnvironment({ COLLECTOR_UDP_PORT: "9000", COLLECTOR_DUCKDB_PATH: "/data/x.duckdb", OTHER: "1" })).toEqual({
      udpPort: "9000",
      duckdbPath: "/data/x.duckdb",
    });
  });
});
