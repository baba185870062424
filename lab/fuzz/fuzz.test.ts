/**
 * A bounded fuzz run of the event scanner inside `npm test` (60 s, FUZZ_SECONDS to change it),
 * under AddressSanitizer and UndefinedBehaviorSanitizer, with the strict-JSON oracle; then every
 * kept regression input is replayed. Any finding fails the test. `npm run fuzz` runs longer.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describeWithTool, requireTool } from "../../test-support/tools";
import { fuzz, REGRESSIONS } from "./run";

const clang = requireTool("clang", "apt-get install clang libclang-rt-14-dev libjson-c-dev");
const jsonC = existsSync("/usr/include/json-c/json.h") ? "json-c" : requireTool("json-c-headers", "apt-get install libjson-c-dev");

describeWithTool(clang && jsonC ? clang : undefined)("fuzzing the event scanner (libFuzzer, ASan, UBSan)", () => {
  it("finds no crash, no sanitizer report and no disagreement with strict JSON", () => {
    const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
    const result = fuzz(seconds);
    console.log(`fuzz: ${result.executions} executions in ${seconds} s (${result.execsPerSecond}/s), coverage ${result.coverage} edges`);
    expect({ findings: result.findings, status: result.status, tail: result.status === 0 ? "" : result.output.slice(-3000) }).toEqual({ findings: [], status: 0, tail: "" });
    expect(result.executions).toBeGreaterThan(10_000);
    expect(result.coverage).toBeGreaterThan(100);
  }, 240_000);

  it("replays every kept regression input cleanly", () => {
    const inputs = readdirSync(REGRESSIONS).filter((file) => !file.startsWith(".")).map((file) => join(REGRESSIONS, file));
    if (inputs.length === 0) return;
    const result = fuzz(0, { replay: inputs });
    expect({ status: result.status, findings: result.findings }).toEqual({ status: 0, findings: [] });
  }, 120_000);
});
