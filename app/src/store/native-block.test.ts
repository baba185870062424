import { ChdbConnection } from "../../../test-support/chdb";
import { startClickHouse, type RunningClickHouse } from "../../../test-support/clickhouse";
import { sampleEvent } from "../../../test-support/collector/events";
import { describeWithTool, requireTool } from "../../../test-support/tools";
import { NativeBlockWriter, typeNameOf } from "./native-block";
import { RowWriter, type RowColumn } from "./row-binary";

/**
 * The Native blocks the ClickHouse store inserts, judged by ClickHouse itself: a server given the
 * same rows as RowBinary writes them back as Native (`FORMAT Native`) byte for byte as the writer
 * does, on 18.16 (CI's Debian server); the 26.7 engine (chdb) reads the blocks into the
 * LowCardinality columns of the modern schema. The layout: ClickHouse src/Formats/NativeReader.cpp
 * (read: column and row counts, then per column its name, type and data) and
 * src/DataTypes/Serializations/SerializationNullable.cpp (a null map, then the nested column).
 */
const COLUMNS: readonly RowColumn[] = [
  { name: "id", type: "String", nullable: false },
  { name: "t", type: "Int64", nullable: false },
  { name: "region", type: "String", nullable: false },
  { name: "track", type: "String", nullable: true },
  { name: "bitrate", type: "Int64", nullable: true },
  { name: "batch", type: "String", nullable: false },
];

/** Rows with what the store writes: NULLs in both types, empty and multi-byte strings, lengths past 127 bytes. */
function sampleRows(count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, n) => {
    const event = sampleEvent({ id: `e-${n}`, t: 1_700_000_000_000 + n * 37 });
    return {
      id: event.id,
      t: event.t,
      region: n % 7 === 0 ? "" : event.region,
      track: n % 3 === 0 ? undefined : n % 5 === 0 ? "Sigur Rós — ".repeat(1 + (n % 40)) : `track-${n}`,
      bitrate: n % 4 === 0 ? undefined : n * 1000,
      batch: "a".repeat(32),
    };
  });
}

function rowBinaryOf(rows: ReadonlyArray<Record<string, unknown>>): Buffer {
  const writer = new RowWriter(16);
  for (const row of rows) writer.row(COLUMNS, row);
  return Buffer.from(writer.bytes());
}

const tableSql = (name: string) =>
  `CREATE TABLE ${name} (${COLUMNS.map((column) => `${column.name} ${typeNameOf(column)}`).join(", ")}) ENGINE = Log`;

describe("NativeBlockWriter", () => {
  const writer = new NativeBlockWriter(COLUMNS);

  it("writes the counts, then each column's name, type and data", () => {
    const block = writer.write(rowBinaryOf([{ id: "x", t: 5, region: "eu", track: undefined, bitrate: 7, batch: "b" }]), 1);
    const expected = Buffer.concat([
      Buffer.from([6, 1]),
      Buffer.from("\x02id\x06String\x01x"),
      Buffer.from("\x01t\x05Int64"),
      Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from("\x06region\x06String\x02eu"),
      // A NULL: 1 in the null map, then the String default (length 0).
      Buffer.from("\x05track\x10Nullable(String)\x01\x00"),
      Buffer.from("\x07bitrate\x0fNullable(Int64)\x00"),
      Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from("\x05batch\x06String\x01b"),
    ]);
    expect(block.equals(expected)).toBe(true);
  });

  it("grows past its first megabyte", () => {
    const rows = sampleRows(30_000);
    const block = writer.write(rowBinaryOf(rows), rows.length);
    expect(block.length).toBeGreaterThan(1 << 20);
    expect(block.subarray(0, 4)).toEqual(Buffer.from([6, 0xb0, 0xea, 0x01]));
  });

  it("refuses rows that are not RowBinary of its columns, naming the batch", () => {
    const good = rowBinaryOf(sampleRows(3));
    const refused = /Native block: \d+ rows of 6 columns do not parse as RowBinary/;
    expect(() => writer.write(good.subarray(0, good.length - 1), 3)).toThrow(refused);
    expect(() => writer.write(good, 2)).toThrow(refused);
    expect(() => writer.write(good, 4)).toThrow(refused);
    const badFlag = rowBinaryOf([{ id: "x", t: 5, region: "eu", track: "s", bitrate: 7, batch: "b" }]);
    // The track's null flag (after id's 2 bytes, t's 8 and region's 3) may be 0 or 1 only.
    badFlag[13] = 2;
    expect(() => writer.write(badFlag, 1)).toThrow(refused);
  });
});

const binary = requireTool("clickhouse-server", "apt-get install clickhouse-server");
describeWithTool(binary)("NativeBlockWriter against ClickHouse 18.16", () => {
  let server: RunningClickHouse;
  const post = async (sql: string, body?: Buffer): Promise<Buffer> => {
    const response = await fetch(body ? `${server.url}/?query=${encodeURIComponent(sql)}` : server.url, {
      method: "POST",
      body: body ?? sql,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    if (!response.ok) throw new Error(`${sql}: ${bytes.toString()}`);
    return bytes;
  };

  beforeAll(async () => {
    server = await startClickHouse(binary!);
  }, 60_000);
  afterAll(async () => server?.stop());

  it("writes what the server writes for the same rows, and the server reads it back as those rows", async () => {
    const rows = sampleRows(5_000);
    const names = COLUMNS.map((column) => column.name).join(", ");
    await post(tableSql("from_row_binary"));
    await post(`INSERT INTO from_row_binary (${names}) FORMAT RowBinary`, rowBinaryOf(rows));
    const block = new NativeBlockWriter(COLUMNS).write(rowBinaryOf(rows), rows.length);
    expect((await post(`SELECT ${names} FROM from_row_binary FORMAT Native`)).equals(block)).toBe(true);

    await post(tableSql("from_native"));
    await post(`INSERT INTO from_native (${names}) FORMAT Native`, block);
    const dump = (table: string) => post(`SELECT ${names} FROM ${table} FORMAT TSV`).then((bytes) => bytes.toString());
    expect(await dump("from_native")).toBe(await dump("from_row_binary"));
    expect((await dump("from_native")).split("\n")).toHaveLength(rows.length + 1);
  }, 60_000);
});

describe("NativeBlockWriter on ClickHouse 26.7 (chdb)", () => {
  it("fills LowCardinality columns from the block's String columns, as the RowBinary rows do", async () => {
    const connection = new ChdbConnection();
    try {
      const rows = sampleRows(2_000);
      const schema = (name: string) =>
        `CREATE TABLE native.${name} (${COLUMNS.map((column) => `${column.name} ${column.name === "region" ? "LowCardinality(String)" : typeNameOf(column)}`).join(", ")}) ENGINE = MergeTree ORDER BY t`;
      await connection.command("CREATE DATABASE native");
      for (const table of ["from_row_binary", "from_native"]) await connection.command(schema(table));
      await connection.insert("native.from_row_binary", rowBinaryOf(rows), { format: "RowBinary", columns: COLUMNS });
      await connection.insert("native.from_native", new NativeBlockWriter(COLUMNS).write(rowBinaryOf(rows), rows.length), {
        format: "Native",
        columns: COLUMNS,
      });
      const dump = (table: string) => connection.rows(`SELECT * FROM native.${table} ORDER BY t`);
      const stored = await dump("from_native");
      expect(stored).toHaveLength(rows.length);
      expect(stored).toEqual(await dump("from_row_binary"));
      expect(stored.filter((row) => row.track === null)).toHaveLength(rows.filter((row) => row.track === undefined).length);
    } finally {
      await connection.close();
    }
  }, 120_000);
});
