/**
 * The native decoder (app/native/event_scan.c) against the reference, JSON.parse + checkEvent:
 * for any datagram, both must reach the same verdict on every line, with the same client time,
 * id and session for an accepted one, and the same reason and detail for a rejected one.
 */
import fc from "fast-check";
import { packEvents } from "../client/packer";
import { fingerprintOf } from "../pipeline/fingerprint-table";
import { sampleEvent, sessionStart } from "../../../test-support/collector/events";
import { EVENT_TYPES, LIMITS, PLAYBACK_TYPES, SOURCES, type PlaybackEvent, type RejectReason } from "./event";
import { jsDecoder, NativeDecoder, type ScannedEventSink } from "./native-decode";

const SEED = 20261126;

type Outcome =
  | { line: [number, number]; accepted: { t: number; id: [number, number]; sid: string } }
  | { line: [number, number]; rejected: string };

/** Records each line's outcome in one comparable form, and how many lines took the fast path. */
class RecordingSink implements ScannedEventSink {
  readonly outcomes: Outcome[] = [];
  fast = 0;
  private lastEnd = 0;

  accept(event: PlaybackEvent, _buffer: Buffer, start: number, end: number): void {
    const { high, low } = fingerprintOf(event.id, { high: 0, low: 0 });
    this.outcomes.push({ line: [start, end], accepted: { t: event.t, id: [high, low], sid: event.sid } });
    this.lastEnd = end;
  }

  acceptScanned(
    buffer: Buffer,
    start: number,
    end: number,
    t: number,
    idHigh: number,
    idLow: number,
    sidStart: number,
    sidEnd: number,
  ): void {
    this.fast++;
    this.outcomes.push({ line: [start, end], accepted: { t, id: [idHigh, idLow], sid: buffer.toString("latin1", sidStart, sidEnd) } });
    this.lastEnd = end;
  }

  reject(reason: RejectReason, detail: string): void {
    // A rejection carries no position; the lines around it pin down where it was.
    this.outcomes.push({ line: [this.lastEnd, -1], rejected: `${reason}: ${detail}` });
  }
}

function decodeBoth(datagram: Buffer, from = 0, to = datagram.length) {
  const reference = new RecordingSink();
  const native = new RecordingSink();
  const referenceLines = jsDecoder.decode(datagram, reference, from, to);
  const nativeLines = new NativeDecoder().decode(datagram, native, from, to);
  return { reference, native, referenceLines, nativeLines };
}

// Values at and around each rule's edges, as JSON text: what the fast path must get right or hand over.
const integerText = fc.oneof(
  fc.nat(100_000).map(String),
  fc.constant("0"),
  fc.constantFrom("0", "1", "00", "01", "-0", "-1", "1.0", "1e3", "1E3", "1.5", "999999999999999", "1000000000000000"),
  fc.constantFrom(String(2 ** 53 - 1), String(2 ** 53), "9007199254740993", "1e400", "1795704013186"),
);
const stringText = (maxLength: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 24 }).map((text) => JSON.stringify(text)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(0, 1, maxLength - 1, maxLength, maxLength + 1).map((length) => JSON.stringify("x".repeat(length))),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom('"\\u0061b"', '"a\\"b"', '"a\\\\b"', '"é"', '"\u2028"', '"😀"', '"a\tb"', '"\u007f"', '"a\\nb"', '""'),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }).map((text) => JSON.stringify(text)) },
  );
const anyText = fc.oneof(
  integerText,
  stringText(LIMITS.idLength),
  fc.constantFrom("null", "true", "false", "[]", "{}", '{"a":[1,{"b":null}]}', "[1,2]", '"playlist"', '"heartbeat"', "1"),
);

/** The value a known field gets: usually right for its type, sometimes anything. */
function fieldValue(field: string): fc.Arbitrary<string> {
  const right: Record<string, fc.Arbitrary<string>> = {
    v: fc.constantFrom("1", "1", "1", "2", "1.0", '"1"', "0"),
    type: fc.constantFrom(...EVENT_TYPES, "bogus", "Play").map((type) => JSON.stringify(type)),
    source: fc.constantFrom(...SOURCES, "tv", "").map((source) => JSON.stringify(source)),
    id: stringText(LIMITS.idLength),
    sid: stringText(LIMITS.idLength),
    uid: stringText(LIMITS.idLength),
    pid: stringText(LIMITS.idLength),
    region: stringText(LIMITS.labelLength),
    device: stringText(LIMITS.labelLength),
    app: stringText(LIMITS.labelLength),
    track: stringText(LIMITS.nameLength),
    artist: stringText(LIMITS.nameLength),
    code: stringText(LIMITS.codeLength),
  };
  return fc.oneof({ weight: 8, arbitrary: right[field] ?? integerText }, { weight: 1, arbitrary: anyText });
}

const space = fc.constantFrom("", "", " ", "\t", "\r", "  ");
const FIELDS = [
  "v",
  "id",
  "type",
  "sid",
  "uid",
  "t",
  "seq",
  "region",
  "device",
  "app",
  "bitrate",
  "pid",
  "track",
  "artist",
  "pos",
  "listened",
  "source",
  "stall",
  "code",
];
const asciiText = (maxLength: number) =>
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength }).filter((text) => text.length <= maxLength);

/** A valid event of any type, as the client library would write it: [field, JSON text] pairs. */
const validPairs = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    id: asciiText(LIMITS.idLength),
    sid: asciiText(40),
    t: fc.nat(),
    seq: fc.integer({ min: 1, max: 2 ** 31 }),
    track: asciiText(LIMITS.nameLength),
    listened: fc.nat(400_000),
    source: fc.constantFrom(...SOURCES),
    optional: fc.boolean(),
  })
  .map(({ type, id, sid, t, seq, track, listened, source, optional }) => {
    const event: Partial<PlaybackEvent> = {
      ...(PLAYBACK_TYPES.has(type) ? sampleEvent({ type, listened, source, track }) : sessionStart({ type })),
      id,
      sid,
      t,
      seq,
    };
    if (type === "buffer_end") event.stall = 250;
    if (type === "error") event.code = "E_DECODE";
    if (!optional) delete event.app;
    return Object.entries(event).map(([name, value]): [string, string] => [name, JSON.stringify(value)]);
  });

/** What can go wrong with, or merely be unusual about, one field. */
const mutation = fc.oneof(
  fc
    .record({ kind: fc.constant("value" as const), field: fc.constantFrom(...FIELDS), value: fc.constant(null) })
    .chain((m) => fieldValue(m.field).map((value) => ({ ...m, value }))),
  // Drops the field at this position among those present, so required ones go missing often.
  fc.record({ kind: fc.constant("drop" as const), field: fc.nat().map(String), value: fc.constant("") }),
  fc
    .record({ kind: fc.constant("repeat" as const), field: fc.constantFrom(...FIELDS), value: fc.constant(null) })
    .chain((m) => fieldValue(m.field).map((value) => ({ ...m, value }))),
  fc.record({
    kind: fc.constant("unknown" as const),
    // Names in quotes are JSON text as is: an escaped key that JSON.parse reads as "t".
    field: fc.constantFrom("extra", "__proto__", "V", "id ", "ïd", '"\\u0074"', '"i\\u0064"'),
    value: anyText,
  }),
);

/** One line: a valid event with zero or more mutations, sometimes odd spacing, a trailing byte or a cut. */
const line = fc
  .record({
    pairs: validPairs,
    mutations: fc.oneof(
      { weight: 2, arbitrary: fc.constant([]) },
      { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
    ),
    spacing: fc.oneof(
      { weight: 3, arbitrary: fc.constant([""]) },
      { weight: 1, arbitrary: fc.array(space, { minLength: 1, maxLength: 64 }) },
    ),
    ending: fc.oneof({ weight: 6, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("\r", " ", "x", "}", ",") }),
    cut: fc.option(fc.nat(400), { freq: 12 }),
  })
  .map(({ pairs, mutations, spacing, ending, cut }) => {
    const all = [...pairs];
    for (const { kind, field, value } of mutations) {
      const at = all.findIndex(([name]) => name === field);
      if (kind === "drop") all.splice(Number(field) % Math.max(all.length, 1), 1);
      else if (kind === "value" && at >= 0) all[at] = [field, value];
      else all.push([field, value]);
    }
    let next = 0;
    const gap = () => spacing[next++ % spacing.length];
    const body = all
      .map(([name, value]) => `${gap()}${name.startsWith('"') ? name : JSON.stringify(name)}${gap()}:${gap()}${value}${gap()}`)
      .join(",");
    const text = `${gap()}{${body}}${ending}`;
    return cut === null ? text : text.slice(0, cut);
  });

const datagram = fc.oneof(
  { weight: 8, arbitrary: fc.array(line, { minLength: 0, maxLength: 8 }).map((lines) => Buffer.from(lines.join("\n"))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)) },
);

describe("NativeDecoder", () => {
  it("reaches the same verdict as JSON.parse + checkEvent on every line", () => {
    let fast = 0;
    let lines = 0;
    let accepted = 0;
    fc.assert(
      fc.property(datagram, (payload) => {
        const { reference, native, referenceLines, nativeLines } = decodeBoth(payload);
        expect(nativeLines).toBe(referenceLines);
        expect(native.outcomes).toEqual(reference.outcomes);
        expect(reference.fast).toBe(0);
        fast += native.fast;
        lines += referenceLines;
        accepted += reference.outcomes.filter((outcome) => "accepted" in outcome).length;
      }),
      { numRuns: 10_000, seed: SEED },
    );
    // Not vacuous: plenty of lines are valid, most of those take the fast path, and many are handed back.
    expect(accepted).toBeGreaterThan(lines / 10);
    expect(fast).toBeGreaterThan(accepted / 2);
    expect(fast).toBeLessThan(accepted);
  });

  it("takes the fast path for every event the client library packs", () => {
    const events: PlaybackEvent[] = [];
    for (const type of EVENT_TYPES) {
      const playback = PLAYBACK_TYPES.has(type);
      const base = playback ? sampleEvent({ type }) : sessionStart({ type });
      events.push({
        ...base,
        id: `packed-${type}`,
        ...(type === "buffer_end" ? { stall: 420 } : {}),
        ...(type === "error" ? { code: "E42" } : {}),
      });
    }
    events.push(sessionStart({ id: "no-optional-fields", app: undefined }));
    const sink = new RecordingSink();
    let lines = 0;
    for (const payload of packEvents(events)) lines += new NativeDecoder().decode(payload, sink, 0, payload.length);
    expect(lines).toBe(events.length);
    expect(sink.fast).toBe(events.length);
    expect(sink.outcomes.map((outcome) => ("accepted" in outcome ? outcome.accepted.sid : outcome.rejected))).toEqual(
      events.map((event) => event.sid),
    );
  });

  it("reads datagrams with more lines than one scan holds, blank lines included, within [from, to)", () => {
    const events = Array.from({ length: 700 }, (_, n) => JSON.stringify(sampleEvent({ id: `many-${n}`, seq: n + 1 })));
    const body = Buffer.from(events.map((text, n) => (n % 50 === 0 ? `\n${text}` : text)).join("\n"));
    // Bytes around the range that must not be read as lines.
    const payload = Buffer.concat([Buffer.from('{"v":1}\n'), body, Buffer.from("\n{garbage")]);
    const from = 8;
    const to = 8 + body.length;
    const { reference, native, referenceLines, nativeLines } = decodeBoth(payload, from, to);
    expect(nativeLines).toBe(700);
    expect(referenceLines).toBe(700);
    expect(native.fast).toBe(700);
    expect(native.outcomes).toEqual(reference.outcomes);
  });

  it("leaves a repeated field to JSON.parse, whose last value wins", () => {
    const text = JSON.stringify(sampleEvent({ t: 5 })).replace(/}$/, ',"t":7}');
    const { reference, native } = decodeBoth(Buffer.from(text));
    expect(native.fast).toBe(0);
    expect(native.outcomes).toEqual(reference.outcomes);
    expect(native.outcomes).toMatchObject([{ accepted: { t: 7 } }]);
  });
});
