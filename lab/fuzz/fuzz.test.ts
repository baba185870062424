/**
 * A bounded fuzz run of each native target inside `npm test` (60 s in all, FUZZ_SECONDS to change
 * it), under AddressSanitizer and UndefinedBehaviorSanitizer, each with its oracle; then every
 * kept regression input is replayed. Any finding fails the test. `npm run fuzz` runs longer.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describeWithTool, requireTool } from "../../test-support/tools";
import { fuzz, REGRESSIONS, TARGETS, type Target } from "./run";

const clang = requireTool("clang", "apt-get install clang libclang-rt-14-dev libjson-c-dev");
const jsonC = existsSync("/usr/include/json-c/json.h") ? "json-c" : requireTool("json-c-headers", "apt-get install libjson-c-dev");

describeWithTool(clang && jsonC ? clang : undefined)("fuzzing the native code (libFuzzer, ASan, UBSan)", () => {
  // 60 s in all: most of it for the scanner, whose input space is far larger.
  const budget: Record<Target, number> = { event_scan: 40, udp_batch: 10, native_block: 10 };
  const scale = Number(process.env.FUZZ_SECONDS ?? 60) / 60;

  it.each(Object.keys(TARGETS) as Target[])(
    "%s: no crash, no sanitizer report, no oracle disagreement",
    (target) => {
      const seconds = Math.max(1, Math.round(budget[target] * scale));
      const result = fuzz(seconds, { target });
      console.log(
        `fuzz ${target}: ${result.executions} executions in ${seconds} s (${result.execsPerSecond}/s), coverage ${result.coverage} edges`,
      );
      expect({ findings: result.findings, status: result.status, tail: result.status === 0 ? "" : result.output.slice(-3000) }).toEqual({
        findings: [],
        status: 0,
        tail: "",
      });
      expect(result.executions).toBeGreaterThan(10_000);
      expect(result.coverage).toBeGreaterThan(target === "event_scan" ? 100 : 20);
    },
    240_000,
  );

  it.each(Object.keys(TARGETS) as Target[])(
    "%s: every kept regression input replays cleanly",
    (target) => {
      const dir = join(REGRESSIONS, target);
      const inputs = existsSync(dir)
        ? readdirSync(dir)
            .filter((file) => !file.startsWith("."))
            .map((file) => join(dir, file))
        : [];
      if (inputs.length === 0) return;
      const result = fuzz(0, { target, replay: inputs });
      expect({ status: result.status, findings: result.findings }).toEqual({ status: 0, findings: [] });
    },
    120_000,
  );
});
