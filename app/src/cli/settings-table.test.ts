import { readFileSync } from "node:fs";
import { APP_README, documentedTable, settingsTable } from "./settings-table";

/** Table cells compared without their padding, so prettier's alignment does not matter. */
const normalized = (table: string | undefined) => table?.replace(/ *\| */g, "|").replace(/-{3,}/g, "---");

describe("app/README.md's settings table", () => {
  it("is the one the schema generates (run `npm run docs:settings` after changing a setting)", () => {
    expect(normalized(documentedTable(readFileSync(APP_README, "utf8")))).toBe(normalized(settingsTable()));
  });
});
