import { gunzipSync } from "node:zlib";

export const REDACTED = "(redacted)";

/** Attribute or key names whose values are secrets whatever they hold. */
const SECRET_WORDS = "password|passwd|secret|token|private_key|privatekey|client_key|conn_str|api_key|apikey|credential";
const SECRET_NAME = new RegExp(`(?:${SECRET_WORDS})`, "i");

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(-----END \1-----|$)/g;
const OPENSSH_PRIVATE = /-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]*?(-----END OPENSSH PRIVATE KEY-----|$)/g;
/** A YAML or env line that assigns something to a secret-looking key. */
const SECRET_ASSIGNMENT = new RegExp(
  `^(\\s*-?\\s*["']?[A-Za-z0-9_.-]*${SECRET_NAME.source}[A-Za-z0-9_.-]*["']?\\s*[:=]\\s*)(\\S.*)$`,
  "gim",
);

/** True when an attribute path names a secret (the last segment decides). */
export function isSecretPath(path: string): boolean {
  const last =
    path
      .split(/[.[\]]/)
      .filter(Boolean)
      .pop() ?? "";
  return SECRET_NAME.test(last);
}

/** A run that looks like encoded data: long, and mixing cases and digits (paths and words do not). */
const ENCODED_RUN = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{32,}={0,2}(?![A-Za-z0-9+/=])/g;
const looksEncoded = (run: string) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);

/**
 * Text safe to show a reviewer: PEM blocks and OpenSSH private keys become a marker naming
 * their type, secret-looking assignments lose their value, and long encoded runs (base64 file
 * contents, tokens, generated passwords) are cut whatever they decode to. Terraform
 * expressions stay: they name where a value comes from, not the value.
 */
export function redactText(text: string): string {
  return (
    text
      .replace(OPENSSH_PRIVATE, "(redacted OpenSSH private key)")
      .replace(PEM_BLOCK, (_block, type: string) => `(redacted PEM ${type.toLowerCase()})`)
      // A Terraform expression or a file path names where the secret is, not the secret.
      .replace(SECRET_ASSIGNMENT, (_line, key: string, value: string) =>
        /^(\$\{|\/)/.test(value) ? `${key}${value}` : `${key}${REDACTED}`,
      )
      .replace(ENCODED_RUN, (run) => (looksEncoded(run) ? REDACTED : run))
  );
}

/** A value of attribute `path`, redacted for display. */
export function redactValue(path: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (isSecretPath(path) && !/^\$\{[^}]*\}$/.test(value)) return REDACTED;
  return redactText(value);
}

/**
 * base64 or gzip+base64 that decodes to UTF-8 text (user-data, metadata), else undefined.
 * Short strings are left alone: they are more likely words than encodings.
 */
export function decodeText(value: string): string | undefined {
  if (value.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  let bytes = Buffer.from(value, "base64");
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      return undefined;
    }
  }
  const text = bytes.toString("utf8");
  // Printable text only: replacement characters or control bytes mean binary (a key, a hash).
  return /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes("\ufffd") ? text : undefined;
}
