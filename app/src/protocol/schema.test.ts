import Ajv2020 from "ajv/dist/2020";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sampleEvent, sessionStart } from "../../../test-support/collector/events";
import { validateEvent } from "./decode";
import { EVENT_TYPES } from "./event";

const schema = JSON.parse(readFileSync(join(__dirname, "..", "..", "protocol.schema.json"), "utf8"));
const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).compile(schema);

/** The published JSON Schema and the collector's decoder must agree on what is valid. */
describe("protocol.schema.json", () => {
  it("accepts what the decoder accepts", () => {
    for (const event of [
      sampleEvent(),
      sessionStart(),
      sampleEvent({ type: "buffer_end", stall: 10 }),
      { ...sessionStart(), type: "error", code: "E" },
    ]) {
      expect(validateEvent(event).ok).toBe(true);
      expect(validate(event)).toBe(true);
    }
  });

  it("agrees with the decoder on mutated events (fast-check)", () => {
    const keys = Object.keys(sampleEvent({ type: "buffer_end", stall: 5, code: "x" }));
    fc.assert(
      fc.property(
        fc.constantFrom(...EVENT_TYPES),
        fc.constantFrom(...keys),
        fc.constantFrom<unknown>(undefined, 0, -1, 1.5, "", "x", true, null, [], 2),
        (type, key, value) => {
          const event: Record<string, unknown> = { ...sampleEvent({ type, stall: 5 }), code: "E" };
          if (value === undefined) delete event[key];
          else event[key] = value;
          expect(validate(event)).toBe(validateEvent(event).ok);
        },
      ),
      { numRuns: 500, seed: 4242 },
    );
  });
});
