import { sampleEvent } from "../../../test-support/collector/events";
import { LineEncoder, storedFieldsOf } from "./line-encoder";

const encoder = new LineEncoder();
const reencode = (event: Parameters<typeof storedFieldsOf>[0]) => JSON.stringify(storedFieldsOf(event));
const plain = (id: string) => JSON.stringify(sampleEvent({ id }));
const repeated = (id: string) => plain(id).replace('{"v":1', '{"region":"first","v":1');

describe("LineEncoder", () => {
  it("hands back the spooled text itself when every line is plain", () => {
    const text = Buffer.from([plain("a"), plain("b")].join("\n"));
    const encoded = encoder.encode(text, 2, { reencode });
    expect(encoded.text).toBe(text);
    expect(encoded).toMatchObject({ lines: 2, minT: 1_700_000_000_000, maxT: 1_700_000_000_000 });
  });

  it("writes back only the lines that are not plain, keeping the others' bytes and the line count", () => {
    for (const lines of [
      [repeated("a"), plain("b"), plain("c")],
      [plain("a"), repeated("b"), plain("c")],
      [plain("a"), plain("b"), repeated("c")],
    ]) {
      const out = encoder
        .encode(Buffer.from(lines.join("\n")), 3, { reencode })
        .text.toString()
        .split("\n");
      expect(out).toHaveLength(3);
      lines.forEach((line, index) => expect(out[index]).toBe(line.startsWith('{"region"') ? reencode(JSON.parse(line)) : line));
    }
  });

  it("refuses a batch whose line count is not what the spool said, or a line that does not parse", () => {
    expect(() => encoder.encode(Buffer.from(plain("a")), 2, { reencode })).toThrow("spooled batch holds 1 lines, not 2");
    expect(() => encoder.encode(Buffer.from(`${plain("a")}\n{"v":1,`), 2, { reencode })).toThrow(
      /spooled line at byte \d+ does not parse; refusing to store a partial batch/,
    );
  });
});
