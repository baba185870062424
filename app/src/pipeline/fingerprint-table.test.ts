import fc from "fast-check";
import { FingerprintTable, fingerprintOf } from "./fingerprint-table";

describe("FingerprintTable", () => {
  it("behaves like a Set under any mix of adds, deletes and clears, with probe runs that wrap and collide", () => {
    // Few distinct low words on a small table: long probe runs, wrap-around and deletes inside runs.
    const fingerprint = fc.record({ high: fc.integer({ min: -1, max: 1 }), low: fc.integer({ min: -12, max: 12 }) });
    const operation = fc.record({ kind: fc.constantFrom("add", "add", "add", "delete", "has", "clear"), fingerprint });
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 400 }), (operations) => {
        const table = new FingerprintTable(16);
        const model = new Set<string>();
        for (const { kind, fingerprint: print } of operations) {
          if (print.high === 0 && print.low === 0) continue; // the empty marker is never a fingerprint
          const key = `${print.high}:${print.low}`;
          if (kind === "add") expect(table.add(print.high, print.low)).toBe(!model.has(key));
          if (kind === "add") model.add(key);
          if (kind === "delete") {
            table.delete(print.high, print.low);
            model.delete(key);
          }
          if (kind === "clear") {
            table.clear();
            model.clear();
          }
          expect(table.has(print.high, print.low)).toBe(model.has(key));
          expect(table.count).toBe(model.size);
        }
        for (const key of model) {
          const [high, low] = key.split(":").map(Number);
          expect(table.has(high, low)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives 300 000 distinct ids 300 000 distinct fingerprints", () => {
    const table = new FingerprintTable();
    const print = { high: 0, low: 0 };
    // Distinctness is counted with a plain Set, not with the table under test.
    const distinct = new Set<string>();
    for (let index = 0; index < 300_000; index++) {
      fingerprintOf(`event-${index}`, print);
      distinct.add(`${print.high}:${print.low}`);
      table.add(print.high, print.low);
    }
    const collisions = 300_000 - distinct.size;
    expect(collisions).toBe(0);
    expect(table.count).toBe(300_000);
  });

  it("fingerprints by every character: ids differing in one place or in length differ", () => {
    const print = (text: string) => {
      const { high, low } = fingerprintOf(text, { high: 0, low: 0 });
      return `${high}:${low}`;
    };
    expect(print("abc")).toBe(print("abc"));
    expect(new Set([print("abc"), print("abd"), print("bbc"), print("abc\u0000"), print("ab"), print(""), print("ébc")]).size).toBe(7);
  });
});
