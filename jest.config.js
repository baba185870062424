/**
 * Tests by cost, as three Jest projects; `npm test` runs them all, `npm run test:unit` (and
 * :integration, :e2e) one. Helpers shared by tests live in test-support/.
 *
 * - unit: pure code and synth, no process, server or privileged tool;
 * - integration: one real component each (helm, ClickHouse, DuckDB, PostgreSQL, cloud-init,
 *   ocserv, a collector in this process, a tmpfs);
 * - e2e: whole systems (collector processes killed and restarted, network namespaces, a browser,
 *   the fuzzers, the lab).
 */
const E2E = [
  "<rootDir>/**/*.e2e.test.ts",
  "<rootDir>/app/build.test.ts",
  "<rootDir>/app/src/collector.durability.test.ts",
  "<rootDir>/app/src/collector.flood.test.ts",
  "<rootDir>/app/src/collector.shutdown.test.ts",
  "<rootDir>/app/src/http/dashboard.browser.test.ts",
  "<rootDir>/lab/fuzz/fuzz.test.ts",
  "<rootDir>/lab/run.test.ts",
];

const INTEGRATION = [
  "<rootDir>/app/chart/chart.test.ts",
  "<rootDir>/app/charts/alert-rules.test.ts",
  "<rootDir>/app/chart/dashboards/dashboards.test.ts",
  "<rootDir>/app/src/collector.health.test.ts",
  "<rootDir>/app/src/config.test.ts",
  "<rootDir>/app/src/http/auth.test.ts",
  "<rootDir>/app/src/pipeline/ingest.fuzz.test.ts",
  "<rootDir>/app/src/pipeline/source-limiter.test.ts",
  "<rootDir>/app/src/pipeline/spool-intake.test.ts",
  "<rootDir>/app/src/process-memory.test.ts",
  "<rootDir>/app/src/protocol/signing.test.ts",
  "<rootDir>/app/src/source/*.test.ts",
  "<rootDir>/app/src/spool/spool-consumer.test.ts",
  "<rootDir>/app/src/store/*.test.ts",
  "<rootDir>/constructs/analytics-platform.test.ts",
  "<rootDir>/constructs/k3s-user-data.test.ts",
  "<rootDir>/constructs/ocserv-config.test.ts",
  "<rootDir>/constructs/vsphere-node-pool.test.ts",
  "<rootDir>/constructs/vsphere-vm.test.ts",
  "<rootDir>/lib/environment.test.ts",
  "<rootDir>/lib/environments/environments.test.ts",
  "<rootDir>/lib/plan-summary/plan-summary.test.ts",
  "<rootDir>/stacks/analytics-stack.test.ts",
  "<rootDir>/stacks/backups.test.ts",
  "<rootDir>/stacks/cluster-stack.test.ts",
  "<rootDir>/stacks/monitoring.test.ts",
  "<rootDir>/stacks/vpn-stack.test.ts",
];

const shared = {
  testEnvironment: "node",
  rootDir: __dirname,
  testPathIgnorePatterns: ["/node_modules/", "/cdktf.out/", "/app/dist/", "/app/dist-flood/", "/app/dist-spoofed/"],
  // Transpile only: the provider packages are huge; `npm test` typechecks once with tsc.
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  setupFilesAfterEnv: ["<rootDir>/jest.setup.js"],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...shared,
      displayName: "unit",
      testMatch: ["<rootDir>/**/*.test.ts"],
      testPathIgnorePatterns: [...shared.testPathIgnorePatterns, ...[...E2E, ...INTEGRATION].map(toIgnorePattern)],
    },
    { ...shared, displayName: "integration", testMatch: INTEGRATION },
    { ...shared, displayName: "e2e", testMatch: E2E },
  ],
};

/** A testMatch glob as a testPathIgnorePatterns regex (only `**` and `*` are used above). */
function toIgnorePattern(glob) {
  return glob
    .replace("<rootDir>", "")
    .replace(/[.]/g, "\\.")
    .replace(/\*\*\//g, "(.*/)?")
    .replace(/\*/g, "[^/]*")
    .concat("$");
}
