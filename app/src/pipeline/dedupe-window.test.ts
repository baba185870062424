import { DedupeWindow } from "./dedupe-window";

describe("DedupeWindow", () => {
  it("drops a repeated id inside the window and forgets it after two windows", () => {
    const window = new DedupeWindow({ windowMs: 1000, maxEntries: 100 }, 0);
    expect(window.seenOrAdd("a", 0)).toBe(false);
    expect(window.seenOrAdd("a", 999)).toBe(true);
    expect(window.seenOrAdd("a", 1500)).toBe(true); // rotated once: still remembered
    expect(window.seenOrAdd("b", 2600)).toBe(false); // rotated twice: "a" is gone
    expect(window.seenOrAdd("a", 2601)).toBe(false);
  });

  it("stays within maxEntries under a flood of unique ids and counts what it evicts", () => {
    const window = new DedupeWindow({ windowMs: 60_000, maxEntries: 1000 }, 0);
    for (let index = 0; index < 10_000; index++) window.seenOrAdd(`id-${index}`, 1);
    expect(window.size).toBeLessThanOrEqual(1000);
    expect(window.evictions).toBe(10_000 - window.size);
  });

  it("rejects nonsense settings", () => {
    expect(() => new DedupeWindow({ windowMs: 0, maxEntries: 10 }, 0)).toThrow(/windowMs 0 must be positive/);
    expect(() => new DedupeWindow({ windowMs: 10, maxEntries: 1 }, 0)).toThrow(/maxEntries 1 must be at least 2/);
  });
});
