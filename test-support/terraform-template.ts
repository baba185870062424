import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/**
 * Evaluates the small subset of Terraform's template language that our synthesized strings
 * use (`${fn(...)}` calls to base64encode, base64gzip and sha256, quoted strings with nested
 * templates, and resource references), with each reference's value supplied by the test. It
 * lets a test follow a value from a Terraform attribute to the bytes a node receives, where
 * there is no terraform binary. Anything outside the subset throws rather than guessing.
 */
export function evaluateTemplate(text: string, resolve: (reference: string) => string): string {
  return new Parser(text, resolve).template(text.length);
}

/** Terraform's functions as documented (sha256: lowercase hex of the UTF-8 bytes). */
const FUNCTIONS: Record<string, (...args: string[]) => string> = {
  base64encode: (value) => Buffer.from(value, "utf8").toString("base64"),
  base64gzip: (value) => gzipSync(Buffer.from(value, "utf8")).toString("base64"),
  sha256: (value) => createHash("sha256").update(value, "utf8").digest("hex"),
};

class Parser {
  private index = 0;

  constructor(
    private readonly text: string,
    private readonly resolve: (reference: string) => string,
  ) {}

  /** Literal text with `${…}` interpolations, up to `end` or a closing quote. */
  template(end: number, quoted = false): string {
    let out = "";
    while (this.index < end) {
      const char = this.text[this.index];
      if (quoted && char === '"') return out;
      if (char === "$" && this.text[this.index + 1] === "{") {
        this.index += 2;
        out += this.expression();
        this.skipSpaces();
        this.expect("}");
      } else if (quoted && char === "\\") {
        const next = this.text[this.index + 1];
        out += next === "n" ? "\n" : next;
        this.index += 2;
      } else {
        out += char;
        this.index += 1;
      }
    }
    if (quoted) throw new Error("unterminated string in Terraform expression");
    return out;
  }

  private expression(): string {
    this.skipSpaces();
    if (this.text[this.index] === '"') {
      this.index += 1;
      const value = this.template(this.text.length, true);
      this.expect('"');
      return value;
    }
    const match = /^[A-Za-z_][A-Za-z0-9_.\-[\]"]*/.exec(this.text.slice(this.index));
    if (!match) throw new Error(`unsupported Terraform expression at ${JSON.stringify(this.text.slice(this.index, this.index + 40))}`);
    const name = match[0];
    this.index += name.length;
    this.skipSpaces();
    if (this.text[this.index] !== "(") return this.resolve(name);
    const fn = FUNCTIONS[name];
    if (!fn) throw new Error(`Terraform function ${name}() is not in the evaluated subset`);
    this.index += 1;
    const args: string[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.text[this.index] === ")") break;
      args.push(this.expression());
      this.skipSpaces();
      if (this.text[this.index] === ",") this.index += 1;
    }
    this.expect(")");
    return fn(...args);
  }

  private skipSpaces(): void {
    while (/\s/.test(this.text[this.index] ?? "")) this.index += 1;
  }

  private expect(char: string): void {
    if (this.text[this.index] !== char) throw new Error(`expected ${char} at ${this.index} in Terraform expression`);
    this.index += 1;
  }
}
