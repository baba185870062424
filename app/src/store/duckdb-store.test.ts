import { describeSpoolCommits } from "../../test/spool-commit-suite";
import { sampleEvent } from "../../test/events";
import { DuckDbStore, SpoolPositionMismatch } from "./duckdb-store";

let store: DuckDbStore;
describeSpoolCommits(
  "DuckDB",
  async () => (store = await DuckDbStore.open({ path: ":memory:" })),
  () => store.close(),
);

describe("DuckDB spool commits", () => {
  it("refuses a batch that overlaps what is stored, so a replay can never store part of a batch twice", async () => {
    const own = await DuckDbStore.open({ path: ":memory:" });
    try {
      await own.migrate();
      const t = Date.now();
      await own.writeBatch([sampleEvent({ id: "o-1", t })], { spool: "s", from: 0, to: 100 });
      await expect(own.writeBatch([sampleEvent({ id: "o-2", t })], { spool: "s", from: 50, to: 150 })).rejects.toThrow(
        SpoolPositionMismatch,
      );
      await expect(own.writeBatch([sampleEvent({ id: "o-2", t })], { spool: "s", from: 50, to: 150 })).rejects.toThrow(
        /spool batch \[50, 150\) overlaps what is stored \(up to 100\)/,
      );
      expect(await own.countEvents()).toBe(1);
      expect(await own.committedPosition("s")).toBe(100);
    } finally {
      await own.close();
    }
  });
});
