import { checkEvent } from "../../app/src/protocol/decode";
import { STORED_FIELDS, type PlaybackEvent } from "../../app/src/protocol/event";
import type { Store } from "../../app/src/store/store";
import { spooledLinesOf } from "../../app/src/store/committing-sink";
import { sampleEvent } from "./events";

/**
 * Wire lines the decoder accepts, in the forms a store must read as JSON.parse does: the plain
 * form clients write, and the forms the native scanner leaves to JavaScript (escapes, non-ASCII,
 * exponents, a repeated key, nested unknown fields, keys naming a store's own columns).
 */
export function wireLineCases(t: number): Array<[string, string]> {
  const plain = (id: string, extra = "") =>
    JSON.stringify(sampleEvent({ id, pid: `${id}-p`, t, listened: 31_000 })).replace(/}$/, `${extra}}`);
  return [
    ["the plain form", plain("wire-plain")],
    ["plain, with unknown fields", plain("wire-unknown", ',"x_build":"abc","x_count":7')],
    ["plain, with spaces around it all", `  ${plain("wire-spaces").replace(/,/g, " , ").replace(/:/g, " : ")}  \r`],
    [
      "escapes and non-ASCII",
      JSON.stringify(sampleEvent({ id: "wire-escapes", pid: "wire-escapes-p", t, track: 'café "live"\n\u0007', artist: "Björk ☃" })),
    ],
    ["an exponent", plain("wire-exponent").replace(`"t":${t}`, `"t":${t / 1000}e3`)],
    ["a repeated key (the last wins)", plain("wire-repeated", ',"region":"us-east"')],
    ["a repeated key whose first value is not valid", plain("wire-repeated-t").replace('{"v":1', '{"t":"soon","v":1')],
    ["nested unknown fields", plain("wire-nested", ',"meta":{"a":[1,2.5,{"b":null}],"c":true},"flag":false')],
    ["keys naming the store's columns", plain("wire-columns", ',"spool_to":999999999,"batch":"forged","spool":"other","received_at":1')],
  ];
}

/** Writes the cases as one spooled batch and expects each stored row to equal JSON.parse of its line. */
export async function expectWireLinesStoredAsParsed(
  store: Store,
  storedRows: () => Promise<Array<Record<string, unknown>>>,
  t = Date.now(),
): Promise<void> {
  const cases = wireLineCases(t);
  for (const [name, line] of cases) expect([name, checkEvent(JSON.parse(line))]).toEqual([name, undefined]);
  await store.writeLines!(spooledLinesOf(cases.map(([, line]) => line)), { spool: "wire", from: 0, to: 4242 });
  // The position is the commit's, whatever a line claims.
  expect(await store.committedPosition("wire")).toBe(4242);
  const rows = new Map((await storedRows()).map((row) => [String(row.id), row]));
  for (const [name, line] of cases) {
    const parsed = JSON.parse(line) as PlaybackEvent & Record<string, unknown>;
    const row = rows.get(parsed.id);
    const expected = Object.fromEntries(STORED_FIELDS.map((field) => [field.name, parsed[field.name] ?? null]));
    // JSONEachRow output quotes 64-bit integers; DuckDB returns bigints.
    const actual = Object.fromEntries(
      STORED_FIELDS.map((field) => [
        field.name,
        field.kind === "count" && row?.[field.name] != null ? Number(row[field.name]) : (row?.[field.name] ?? null),
      ]),
    );
    expect([name, actual]).toEqual([name, expected]);
  }
  expect(rows.size).toBe(cases.length);
}
