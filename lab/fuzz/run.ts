/**
 * `npm run fuzz [-- --seconds N]`: builds each native libFuzzer target (TARGETS) with
 * AddressSanitizer and UndefinedBehaviorSanitizer (Debian's clang and libclang-rt-14-dev, and
 * json-c for the event scanner's oracle), seeds the scanner from the protocol's examples and a
 * generated event set, runs each, and prints executions, speed and coverage. A finding is copied to
 * app/native/fuzz/regressions/ (replayed by the test from then on) and fails the run.
 */
import { Command } from "commander";
import { execFileSync, spawnSync } from "node:child_process";
import { EVENT_ROW_LAYOUT } from "../../app/src/store/row-binary";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CODE_REQUIRED_ON,
  EVENT_FIELDS,
  EVENT_TYPES,
  LIMITS,
  PLAYBACK_TYPES,
  PROTOCOL_VERSION,
  SOURCES,
  STALL_REQUIRED_ON,
} from "../../app/src/protocol/event";
import { generateEventSet } from "../../test-support/collector/event-set";

const root = join(__dirname, "..", "..");
const native = join(root, "app", "native");
export const FUZZ_DIR = join(native, "fuzz");
/** Inputs that once failed, per target (`regressions/<target>/`); the test replays them. */
export const REGRESSIONS = join(FUZZ_DIR, "regressions");

export interface FuzzResult {
  readonly status: number | null;
  readonly executions: number;
  readonly execsPerSecond: number;
  readonly coverage: number;
  readonly findings: readonly string[];
  readonly output: string;
}

/** The protocol's facts for the target, from protocol/event.ts (as eventScanConfigure gets them). */
function writeProtocol(dir: string): string {
  const path = join(dir, "protocol.json");
  writeFileSync(
    path,
    JSON.stringify({
      version: PROTOCOL_VERSION,
      ...LIMITS,
      types: [...EVENT_TYPES],
      playbackTypes: [...PLAYBACK_TYPES],
      sources: [...SOURCES],
      stallRequiredOn: STALL_REQUIRED_ON,
      codeRequiredOn: CODE_REQUIRED_ON,
      fields: EVENT_FIELDS.map((field) => field.name),
      rowLayout: [...EVENT_ROW_LAYOUT],
    }),
  );
  return path;
}

/** The fuzz targets: the event scanner (with its JSON oracle), the batch receiver's bookkeeping, the Native block writer. */
export const TARGETS = {
  event_scan: { sources: ["event_scan_core.c"], libraries: ["-ljson-c"] },
  udp_batch: { sources: ["udp_batch_core.c"], libraries: [] },
  native_block: { sources: ["native_block_core.c"], libraries: [] },
} as const;
export type Target = keyof typeof TARGETS;

export function buildTarget(dir: string, target: Target = "event_scan"): string {
  const binary = join(dir, `${target}_fuzz`);
  execFileSync(
    "clang",
    [
      "-g",
      "-O1",
      "-fsanitize=fuzzer,address,undefined",
      "-fno-sanitize-recover=undefined",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-o",
      binary,
      join(FUZZ_DIR, `${target}_fuzz.c`),
      ...TARGETS[target].sources.map((source) => join(native, source)),
      ...TARGETS[target].libraries,
    ],
    { stdio: "pipe" },
  );
  return binary;
}

/** Seeds: PROTOCOL.md's example lines, datagrams packed from a generated event set, and the committed seeds. */
function writeSeeds(dir: string): string {
  const seeds = join(dir, "seeds");
  mkdirSync(seeds, { recursive: true });
  const examples = readFileSync(join(root, "app", "PROTOCOL.md"), "utf8")
    .split("\n")
    .filter((line) => line.startsWith('{"v"'));
  examples.forEach((line, index) => writeFileSync(join(seeds, `example-${index}`), line));
  writeFileSync(join(seeds, "examples-datagram"), examples.join("\n"));
  const events = generateEventSet(7, Date.UTC(2026, 0, 1), { sessions: 6 }).sent;
  for (let index = 0; index < Math.min(events.length, 60); index += 6) {
    writeFileSync(
      join(seeds, `set-${index}`),
      events
        .slice(index, index + 6)
        .map((event) => JSON.stringify(event))
        .join("\n"),
    );
  }
  for (const file of readdirSync(join(FUZZ_DIR, "seeds"))) copyFileSync(join(FUZZ_DIR, "seeds", file), join(seeds, file));
  return seeds;
}

/** Runs a target for `seconds` (or replays the given inputs), and reads libFuzzer's final stats. */
export function fuzz(seconds: number, options: { target?: Target; replay?: readonly string[]; workDir?: string } = {}): FuzzResult {
  const target = options.target ?? "event_scan";
  const dir = options.workDir ?? mkdtempSync(join(tmpdir(), `fuzz-${target}-`));
  const binary = buildTarget(dir, target);
  const protocol = writeProtocol(dir);
  const artifacts = join(dir, "artifacts");
  mkdirSync(artifacts, { recursive: true });
  const corpus = join(dir, "corpus");
  mkdirSync(corpus, { recursive: true });
  const seeded = target === "event_scan" ? [`-dict=${join(FUZZ_DIR, "event.dict")}`, "-max_len=8192"] : ["-max_len=2048"];
  const args = options.replay
    ? [...options.replay]
    : [`-max_total_time=${seconds}`, ...seeded, "-print_final_stats=1", corpus, ...(target === "event_scan" ? [writeSeeds(dir)] : [])];
  const run = spawnSync(binary, [`-artifact_prefix=${artifacts}/`, ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      FUZZ_PROTOCOL: protocol,
      ASAN_OPTIONS: "abort_on_error=1:detect_leaks=1",
      UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${run.stdout}${run.stderr}`;
  const stat = (name: string) => Number(new RegExp(`stat::${name}:\\s*(\\d+)`).exec(output)?.[1] ?? 0);
  const coverage = Number([...output.matchAll(/\bcov: (\d+)/g)].pop()?.[1] ?? 0);
  const findings = readdirSync(artifacts).map((file) => join(artifacts, file));
  return {
    status: run.status,
    executions: stat("number_of_executed_units"),
    execsPerSecond: stat("average_exec_per_sec"),
    coverage,
    findings,
    output,
  };
}

if (require.main === module) {
  const options = new Command()
    .name("fuzz")
    .description(
      "Fuzz the native code under ASan and UBSan: the event scanner (with a strict-JSON oracle), the batch receiver, the Native block writer",
    )
    .option("--seconds <n>", "how long to fuzz each target", "180")
    .option("--target <name>", `one target (${Object.keys(TARGETS).join(", ")}); default all`)
    .parse()
    .opts<{ seconds: string; target?: string }>();
  const seconds = Number(options.seconds);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`fuzz: --seconds "${options.seconds}" must be a whole number ≥ 1`);
  if (options.target && !(options.target in TARGETS))
    throw new Error(`fuzz: --target "${options.target}" is not one of ${Object.keys(TARGETS).join(", ")}`);
  let failed = false;
  for (const target of (options.target ? [options.target] : Object.keys(TARGETS)) as Target[]) {
    const result = fuzz(seconds, { target });
    process.stdout.write(
      `fuzz ${target}: ${result.executions} executions, ${result.execsPerSecond}/s, coverage ${result.coverage} edges, ${result.findings.length} findings\n`,
    );
    if (result.findings.length > 0 || result.status !== 0) {
      const kept = join(REGRESSIONS, target);
      mkdirSync(kept, { recursive: true });
      for (const finding of result.findings) copyFileSync(finding, join(kept, finding.split("/").pop()!));
      process.stdout.write(`${result.output.split("\n").slice(-40).join("\n")}\nfuzz: findings copied to ${kept}\n`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
}
