import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../config";

const START = "<!-- settings table: generated from app/src/config.ts by `npm run docs:settings` -->";
const END = "<!-- end of settings table -->";
export const APP_README = join(__dirname, "..", "..", "README.md");

/** The Markdown table of every setting, from the schema. */
export function settingsTable(): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const rows = SETTINGS.map(
    (setting) =>
      `| ${setting.flag ? `\`${setting.flag}\`` : "(environment only)"} | \`${setting.env}\` | ${
        setting.defaultValue === undefined ? "unset" : `\`${setting.defaultValue === "" ? '""' : setting.defaultValue}\``
      } | ${cell(setting.description)} |`,
  );
  return [START, "", "| flag | variable | default | what |", "| --- | --- | --- | --- |", ...rows, "", END].join("\n");
}

/** The README's table as it is now (undefined when the markers are missing). */
export function documentedTable(readme: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  return start < 0 || end < 0 ? undefined : readme.slice(start, end + END.length);
}

if (require.main === module) {
  const readme = readFileSync(APP_README, "utf8");
  const current = documentedTable(readme);
  if (!current) throw new Error(`${APP_README}: the settings table markers are missing`);
  writeFileSync(APP_README, readme.replace(current, settingsTable()));
  process.stdout.write(`wrote the settings table into ${APP_README}\n`);
}
