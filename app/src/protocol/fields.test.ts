/**
 * The event fields are declared once (EVENT_FIELDS in event.ts); the published schema, the
 * protocol's field table and the native scanner must agree with that declaration.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAddon } from "../native-addon";
import { configureEventScan } from "./native-decode";
import { EVENT_FIELDS, EVENT_TYPES, PLAYBACK_TYPES, PROTOCOL_VERSION, SOURCES, type EventField } from "./event";

const root = join(__dirname, "..", "..");
type SchemaProperty = { const?: number; type?: string; minLength?: number; maxLength?: number; minimum?: number; enum?: string[] };
const schema = JSON.parse(readFileSync(join(root, "protocol.schema.json"), "utf8")) as {
  required: string[];
  properties: Record<string, SchemaProperty>;
  allOf: Array<{ if: { properties: { type: { enum?: string[]; const?: string } } }; then: { required: string[] } }>;
};

/** Which event types a field is required on, as the schema says it. */
function schemaRequirement(name: string): string {
  if (schema.required.includes(name)) return "always";
  const rule = schema.allOf.find((entry) => entry.then.required.includes(name));
  if (!rule) return "never";
  const types = rule.if.properties.type;
  if (types.const) return types.const;
  return [...(types.enum ?? [])].sort().join(",") === [...PLAYBACK_TYPES].sort().join(",") ? "playback" : `types ${types.enum}`;
}

/** The field as the schema describes it, in EventField's terms. */
function fromSchema(name: string): Omit<EventField, "label"> {
  const property = schema.properties[name];
  const required = schemaRequirement(name) as EventField["required"];
  if (property.const !== undefined) return { name, kind: "version", required };
  if (property.enum) return { name, kind: property.enum.join() === EVENT_TYPES.join() ? "eventType" : "source", required };
  if (property.type === "integer")
    return { name, kind: "count", required, ...(property.minimum && property.minimum > 0 ? { min: property.minimum } : {}) };
  return { name, kind: "text", maxLength: property.maxLength, required };
}

describe("the event fields, declared once", () => {
  it("are exactly protocol.schema.json's properties, with the same types, bounds and requirements", () => {
    expect(Object.keys(schema.properties)).toEqual(EVENT_FIELDS.map((field) => field.name));
    for (const field of EVENT_FIELDS) {
      // `label` is a storage hint the schema has no word for.
      const declared: Record<string, unknown> = { ...field };
      delete declared.label;
      expect({ field: field.name, ...fromSchema(field.name) }).toEqual({ field: field.name, ...declared });
    }
    expect(schema.properties.source.enum).toEqual([...SOURCES]);
    expect(schema.properties.v.const).toBe(PROTOCOL_VERSION);
  });

  it("are PROTOCOL.md's field table, row by row", () => {
    const table = readFileSync(join(root, "PROTOCOL.md"), "utf8")
      .split("\n")
      .filter((line) => /^\| `/.test(line))
      .map((line) => line.split("|").map((cell) => cell.trim()))
      .filter((cells) => /^(always|no|playback types|`\w+`)$/.test(cells[3]));
    const documented = table.flatMap(([, names, type, required]) =>
      [...names.matchAll(/`(\w+)`/g)].map((match) => ({ name: match[1], type, required })),
    );
    expect(documented.map((row) => row.name)).toEqual(EVENT_FIELDS.map((field) => field.name));
    for (const field of EVENT_FIELDS as readonly EventField[]) {
      const row = documented.find((entry) => entry.name === field.name)!;
      const required = { always: "always", never: "no", playback: "playback types" }[field.required as string] ?? `\`${field.required}\``;
      const type =
        field.kind === "text"
          ? `string ≤ ${field.maxLength}`
          : field.kind === "count"
            ? `integer ≥ ${field.min ?? 0}`
            : field.kind === "version"
              ? "integer"
              : "enum";
      expect({ field: field.name, type: row.type, required: row.required }).toEqual({ field: field.name, type, required });
    }
  });

  it("give the native scanner its field order, and it refuses a field it has no rule for", () => {
    const addon = loadAddon("the fields test");
    const configure = (fields: string[]) => configureEventScan(addon, fields);
    const names = EVENT_FIELDS.map((field) => field.name);
    try {
      expect(() => configure([...names.slice(0, -1), "mood"])).toThrow(
        "eventScanConfigure: the protocol declares a field the scanner has no rule for",
      );
      expect(() => configure([...names.slice(0, -1), "v"])).toThrow("eventScanConfigure: the protocol declares a field twice");
      expect(() => configure(names.slice(1))).toThrow("eventScanConfigure: the protocol declares a different number of fields");
      // Any order the protocol declares is the scanner's search order; its answers do not change.
      expect(() => configure([...names].reverse())).not.toThrow();
      const line = Buffer.from('{"v":1,"id":"a","type":"session_start","sid":"s","uid":"u","t":5,"seq":1,"region":"eu","device":"ios"}');
      const results = new Float64Array(8);
      expect(addon.eventScan(line, 0, line.length, results)).toBe(1);
      expect(results[0]).toBe(1);
    } finally {
      configure(names);
    }
  });
});
