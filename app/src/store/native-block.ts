import { loadAddon, type CollectorAddon } from "../native-addon";
import { INT64_BIT, NULLABLE_BIT, RowWriter, type RowColumn } from "./row-binary";

/** A column's ClickHouse type name. */
export const typeNameOf = (column: RowColumn): string => (column.nullable ? `Nullable(${column.type})` : column.type);

/** A column's Native header: its name and its type name, each written as a String value is. */
function headerOf(column: RowColumn): Buffer {
  const writer = new RowWriter(64);
  for (const text of [column.name, typeNameOf(column)]) writer.value({ name: column.name, type: "String", nullable: false }, text);
  return Buffer.from(writer.bytes());
}

/**
 * RowBinary rows of `columns` as one block of ClickHouse's Native format, the server's own
 * column-after-column layout: the 18.16 server parsed the bench's rows in it for about 1 µs a
 * row less than as RowBinary (docs/adr/0021). The rows are transposed in C; the block's header
 * (each column's name and type) is made once here. A server whose column is LowCardinality
 * takes these String columns and converts them (ClickHouse src/Formats/NativeReader.cpp, read).
 *
 * The returned block is this writer's own memory, valid until its next call.
 */
export class NativeBlockWriter {
  private readonly addon: CollectorAddon;
  private readonly types: Buffer;
  private readonly headers: Buffer;
  private readonly headerEnds: Uint32Array;
  private out = Buffer.allocUnsafe(1 << 20);

  constructor(readonly columns: readonly RowColumn[]) {
    this.addon = loadAddon("the ClickHouse store");
    // The type bits of the row encoder's layout byte, which the block writer takes as its type byte (native_block_core.h).
    this.types = Buffer.from(columns.map((column) => (column.type === "Int64" ? INT64_BIT : 0) | (column.nullable ? NULLABLE_BIT : 0)));
    const headers = columns.map(headerOf);
    this.headers = Buffer.concat(headers);
    this.headerEnds = new Uint32Array(headers.length);
    headers.reduce((end, header, index) => (this.headerEnds[index] = end + header.length), 0);
  }

  /** The block of `count` rows in rows[0, rows.length). */
  write(rows: Buffer, count: number): Buffer {
    for (;;) {
      const written = this.addon.nativeBlockWrite(rows, rows.length, count, this.types, this.headers, this.headerEnds, this.out);
      if (written > 0) return this.out.subarray(0, written);
      if (written === 0) throw new Error(`Native block: ${count} rows of ${this.columns.length} columns do not parse as RowBinary`);
      this.out = Buffer.allocUnsafe(Math.max(-written, this.out.length * 2));
    }
  }
}
