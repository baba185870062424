import { boundedName, dnsLabel, isDnsLabel } from "./names";

describe("dnsLabel", () => {
  it.each([
    ["main", "main"],
    ["staging", "staging"],
    ["abc-123", "abc-123"],
  ])("keeps %s, already a label, unchanged", (input, expected) => {
    expect(dnsLabel(input)).toBe(expected);
  });

  it.each(["feature/JIRA-123_Add Thing", "Ünïcödé/branch", "release/1.2.3", "UPPER", "--x--", "a".repeat(200), "日本語", "/"])(
    "turns %j into a valid label",
    (input) => {
      const label = dnsLabel(input);
      expect(isDnsLabel(label)).toBe(true);
      expect(label.length).toBeLessThanOrEqual(63);
    },
  );

  it("folds diacritics instead of dropping letters", () => {
    expect(dnsLabel("Ünïcödé/branch")).toMatch(/^unicode-branch-[0-9a-f]{6}$/);
  });

  it("keeps names that sanitize alike apart", () => {
    expect(dnsLabel("feature/a")).not.toBe(dnsLabel("feature-a"));
    expect(dnsLabel("Feature-A")).not.toBe(dnsLabel("feature-a"));
  });

  it("respects a smaller limit", () => {
    expect(dnsLabel("x".repeat(80), 20)).toHaveLength(20);
  });
});

describe("boundedName", () => {
  it("joins parts when they fit", () => {
    expect(boundedName(["main", "collector"], 53)).toBe("main-collector");
  });

  it("cuts and hashes the full name when it does not fit", () => {
    const long = boundedName(["a".repeat(40), "clickhouse", "keeper"], 53);
    expect(long).toHaveLength(53);
    expect(isDnsLabel(long, 53)).toBe(true);
    expect(long).not.toBe(boundedName(["a".repeat(40), "clickhouse", "keeper2"], 53));
  });

  it("refuses parts that are not labels", () => {
    expect(() => boundedName(["Main", "x"])).toThrow(/DNS-1123/);
  });
});
