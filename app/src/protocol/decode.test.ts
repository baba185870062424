import fc from "fast-check";
import { packEvents } from "../client/packer";
import { sampleEvent, sessionStart } from "../../../test-support/collector/events";
import { decodeDatagram, validateEvent, type DecodeSink } from "./decode";
import { EVENT_TYPES, SOURCES, type PlaybackEvent, type RejectReason } from "./event";

function collect(payload: Buffer): { accepted: PlaybackEvent[]; rejected: RejectReason[]; lines: number } {
  const accepted: PlaybackEvent[] = [];
  const rejected: RejectReason[] = [];
  const sink: DecodeSink = { accept: (event) => accepted.push(event), reject: (reason) => rejected.push(reason) };
  const lines = decodeDatagram(payload, sink);
  return { accepted, rejected, lines };
}

const line = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

describe("validateEvent", () => {
  it.each<[string, unknown, RejectReason | "ok", RegExp?]>([
    ["a full heartbeat", sampleEvent(), "ok"],
    ["a session_start without track fields", sessionStart(), "ok"],
    ["an error with a code and no playback", { ...sessionStart(), type: "error", code: "E_NET" }, "ok"],
    ["a buffer_end with stall", sampleEvent({ type: "buffer_end", stall: 1200 }), "ok"],
    ["an array", [sampleEvent()], "malformed", /not a JSON object/],
    ["null", null, "malformed"],
    ["a number", 5, "malformed"],
    ["a missing v", { ...sampleEvent(), v: undefined }, "schema", /v is missing/],
    ["v 2", { ...sampleEvent(), v: 2 }, "version", /v 2 is not supported/],
    ["v as a string", { ...sampleEvent(), v: "1" }, "version"],
    ["a missing id", { ...sampleEvent(), id: undefined }, "schema", /id/],
    ["an empty id", sampleEvent({ id: "" }), "schema", /id/],
    ["an unknown type", { ...sampleEvent(), type: "rewind" }, "schema", /type/],
    ["a fractional t", sampleEvent({ t: 1.5 }), "schema", /t must/],
    ["a negative t", sampleEvent({ t: -1 }), "schema", /t must/],
    ["seq 0", sampleEvent({ seq: 0 }), "schema", /seq/],
    ["seq as a string", { ...sampleEvent(), seq: "3" }, "schema", /seq/],
    ["a play without pid", { ...sampleEvent({ type: "play" }), pid: undefined }, "schema", /pid is required on play/],
    ["a heartbeat without listened", { ...sampleEvent(), listened: undefined }, "schema", /listened is required on heartbeat/],
    ["an unknown source", { ...sampleEvent(), source: "tv" }, "schema", /source/],
    ["a buffer_end without stall", sampleEvent({ type: "buffer_end" }), "schema", /stall is required/],
    ["an error without code", { ...sessionStart(), type: "error" }, "schema", /code is required/],
    ["a region that is too long", sampleEvent({ region: "x".repeat(65) }), "schema", /region/],
    ["a bitrate that is a string", { ...sampleEvent(), bitrate: "320" }, "schema", /bitrate/],
  ])("%s", (...row) => {
    // A rest parameter: jest would pass `done` as a fourth parameter to rows without `detail`.
    const [, value, expected, detail] = row;
    const result = validateEvent(value);
    if (expected === "ok") {
      expect(result).toMatchObject({ ok: true });
    } else {
      expect(result).toMatchObject({ ok: false, reason: expected });
      if (detail && !result.ok) expect(result.detail).toMatch(detail);
    }
  });

  it("ignores unknown fields and does not carry them along", () => {
    const result = validateEvent({ ...sampleEvent(), extra: "x", nested: { a: 1 } });
    expect(result.ok && Object.keys(result.event)).not.toContain("extra");
  });
});

describe("decodeDatagram", () => {
  it("keeps the good events of a datagram with bad lines", () => {
    const payload = Buffer.from(
      [line(sampleEvent({ id: "a" })), "{not json", line({ ...sampleEvent(), v: 9 }), "", line(sampleEvent({ id: "b" }))].join("\n"),
    );
    const result = collect(payload);
    expect(result.accepted.map((event) => event.id)).toEqual(["a", "b"]);
    expect(result.rejected).toEqual(["malformed", "version"]);
    expect(result.lines).toBe(4);
  });

  it("accepts CRLF line ends and a trailing newline", () => {
    const result = collect(Buffer.from(`${line(sampleEvent({ id: "a" }))}\r\n${line(sampleEvent({ id: "b" }))}\n`));
    expect(result.accepted).toHaveLength(2);
  });

  it("reads UTF-8 names", () => {
    const result = collect(Buffer.from(line(sampleEvent({ track: "Ünïcödé — 日本" }))));
    expect(result.accepted[0].track).toBe("Ünïcödé — 日本");
  });
});

const eventArbitrary: fc.Arbitrary<PlaybackEvent> = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 40 }),
    type: fc.constantFrom(...EVENT_TYPES),
    sid: fc.string({ minLength: 1, maxLength: 40 }),
    uid: fc.string({ minLength: 1, maxLength: 40 }),
    t: fc.integer({ min: 0, max: 2 ** 45 }),
    seq: fc.integer({ min: 1, max: 1_000_000 }),
    region: fc.string({ minLength: 1, maxLength: 20 }),
    device: fc.string({ minLength: 1, maxLength: 20 }),
    pid: fc.string({ minLength: 1, maxLength: 40 }),
    track: fc.string({ minLength: 1, maxLength: 80 }),
    artist: fc.string({ minLength: 1, maxLength: 80 }),
    pos: fc.nat(),
    listened: fc.nat(),
    source: fc.constantFrom(...SOURCES),
    stall: fc.nat(),
    code: fc.string({ minLength: 1, maxLength: 20 }),
  })
  .map(({ stall, code, pid, track, artist, pos, listened, source, ...base }) => {
    const event: PlaybackEvent = { v: 1, ...base };
    if (!["session_start", "session_end", "error"].includes(base.type)) Object.assign(event, { pid, track, artist, pos, listened, source });
    if (base.type === "buffer_end") event.stall = stall;
    if (base.type === "error") event.code = code;
    return event;
  });

describe("properties (fast-check)", () => {
  const runs = { numRuns: 300, seed: 20261126 };

  it("never throws on random bytes, and every line is accounted for", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const result = collect(Buffer.from(bytes));
        expect(result.accepted.length + result.rejected.length).toBe(result.lines);
      }),
      runs,
    );
  });

  it("rejects truncated events as malformed", () => {
    fc.assert(
      fc.property(eventArbitrary, fc.nat(), (event, cut) => {
        const text = line(event);
        const truncated = text.slice(0, 1 + (cut % (text.length - 1)));
        expect(collect(Buffer.from(truncated)).rejected).toEqual(["malformed"]);
      }),
      runs,
    );
  });

  it("rejects wrong-typed fields with schema (or version for v)", () => {
    const fields = ["v", "id", "sid", "uid", "t", "seq", "region", "device"] as const;
    fc.assert(
      fc.property(
        eventArbitrary,
        fc.constantFrom(...fields),
        fc.constantFrom<unknown>(true, [], {}, -5, 1.5, ""),
        (event, field, wrong) => {
          const broken = { ...event, [field]: wrong };
          const result = validateEvent(broken);
          expect(result).toMatchObject({ ok: false, reason: field === "v" ? "version" : "schema" });
        },
      ),
      runs,
    );
  });

  it("round-trips valid events through the client library's packing", () => {
    fc.assert(
      fc.property(fc.array(eventArbitrary, { minLength: 1, maxLength: 40 }), fc.integer({ min: 200, max: 1400 }), (events, maxBytes) => {
        const datagrams = packEvents(events, maxBytes);
        const decoded = datagrams.flatMap((datagram) => collect(datagram).accepted);
        expect(decoded).toEqual(events);
        for (const datagram of datagrams) {
          // Only a single event larger than the limit may exceed it.
          if (datagram.length > maxBytes) expect(datagram.includes(0x0a)).toBe(false);
        }
      }),
      runs,
    );
  });
});
