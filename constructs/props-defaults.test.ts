/**
 * Every optional prop of a construct says what it defaults to (the AWS CDK guideline: an
 * `@default` in its doc comment), so a reader of the props knows what leaving it out means.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

function optionalPropsWithoutDefault(source: string): string[] {
  const missing: string[] = [];
  for (const match of source.matchAll(/export interface (\w+Props)\s*\{([\s\S]*?)\n\}/g)) {
    const lines = match[2].split("\n");
    lines.forEach((line, index) => {
      const prop = /^\s*readonly (\w+)\?:/.exec(line);
      if (!prop) return;
      // The doc comment directly above the prop, if any.
      let start = index - 1;
      if (!lines[start]?.trim().endsWith("*/")) {
        missing.push(`${match[1]}.${prop[1]}`);
        return;
      }
      while (start > 0 && !lines[start].trim().startsWith("/**")) start--;
      if (!lines.slice(start, index).join("\n").includes("@default")) missing.push(`${match[1]}.${prop[1]}`);
    });
  }
  return missing;
}

describe("construct props", () => {
  const files = readdirSync(__dirname).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"));

  it.each(files)("%s documents a default for each optional prop", (file) => {
    expect(optionalPropsWithoutDefault(readFileSync(join(__dirname, file), "utf8"))).toEqual([]);
  });

  it("would notice one that does not", () => {
    expect(optionalPropsWithoutDefault("export interface FooProps {\n  /** Size. */\n  readonly size?: number;\n}")).toEqual([
      "FooProps.size",
    ]);
  });
});
