import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where `npm run node:replace` records deliberate node replacements; reviewed like code. */
export const NODE_GENERATIONS_FILE = join(__dirname, "node-generations.json");

/** Node name → generation, as stored; a missing or empty file means no node was replaced. */
export function readNodeGenerations(file = NODE_GENERATIONS_FILE): Record<string, number> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  const parsed = JSON.parse(text || "{}") as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: must be a JSON object of node name → generation (got ${JSON.stringify(parsed)})`);
  }
  return parsed as Record<string, number>;
}

export function writeNodeGenerations(generations: Readonly<Record<string, number>>, file = NODE_GENERATIONS_FILE): void {
  const sorted = Object.fromEntries(Object.entries(generations).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`);
}
