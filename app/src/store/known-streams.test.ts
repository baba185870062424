import { KnownStreams } from "./known-streams";

describe("KnownStreams", () => {
  it("remembers stream times, and keeps a playback looked up while the rest are forgotten", () => {
    const known = new KnownStreams(2);
    known.set("a", 10);
    known.set("b", 20);
    known.set("c", 30); // the newer generation was full: a and b are now the older one
    expect(known.get("a")).toBe(10); // a hit moves a to the newer generation, beside c
    known.set("d", 40); // full again: {c, a} become the older one, b is forgotten
    expect([known.get("a"), known.get("b"), known.get("c"), known.get("d")]).toEqual([10, undefined, 30, 40]);
    known.set("d", 35);
    expect(known.get("d")).toBe(35);
  });

  it("never holds more than two generations", () => {
    const known = new KnownStreams(100);
    for (let n = 0; n < 10_000; n++) known.set(`p-${n}`, n);
    expect(known.size).toBeLessThanOrEqual(200);
    expect(known.get("p-9999")).toBe(9999);
    expect(known.get("p-0")).toBeUndefined();
  });

  it("forgets everything when cleared, and refuses a capacity that is not a positive integer", () => {
    const known = new KnownStreams(10);
    known.set("a", 1);
    known.clear();
    expect(known.get("a")).toBeUndefined();
    expect(() => new KnownStreams(0)).toThrow(/capacity must be a positive integer \(got 0\)/);
  });
});
