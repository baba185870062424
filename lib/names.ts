import { createHash } from "node:crypto";

/** Longest Kubernetes object name that is a DNS-1123 label. */
export const KUBERNETES_NAME_MAX = 63;
/** Helm appends suffixes to the release name, so it caps releases at 53. */
export const HELM_RELEASE_NAME_MAX = 53;

const HASH_LENGTH = 6;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A short, stable fingerprint of the raw input; stable across machines and Node versions. */
export function shortHash(input: string): string {
  return createHash("sha256").update(input, "utf8").digest("hex").slice(0, HASH_LENGTH);
}

export function isDnsLabel(name: string, maxLength = KUBERNETES_NAME_MAX): boolean {
  return name.length <= maxLength && DNS_LABEL.test(name);
}

/** Lower-case ASCII letters, digits and single dashes; diacritics folded (Ü → u). */
function foldToLabelCharacters(input: string): string {
  return input
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function withHashSuffix(base: string, hashInput: string, maxLength: number): string {
  const room = maxLength - HASH_LENGTH - 1;
  const head = base.slice(0, room).replace(/-+$/g, "");
  return head ? `${head}-${shortHash(hashInput)}` : shortHash(hashInput);
}

/**
 * Turns any string into a DNS-1123 label of at most `maxLength` characters.
 *
 * When sanitizing changed the input (case, slashes, dots, non-ASCII) or it had to be
 * truncated, a hash of the raw input is appended: `feature/a` and `feature-a` would
 * otherwise both become `feature-a`, and two long names that differ only at the end
 * would otherwise collide after truncation.
 */
export function dnsLabel(input: string, maxLength = KUBERNETES_NAME_MAX): string {
  if (maxLength < HASH_LENGTH + 2) throw new Error(`dnsLabel: maxLength ${maxLength} leaves no room for a hash suffix`);
  const folded = foldToLabelCharacters(input);
  if (folded === input && folded.length > 0 && folded.length <= maxLength) return folded;
  return withHashSuffix(folded, input, maxLength);
}

/**
 * Joins already-valid label parts with dashes and keeps the result within `maxLength`,
 * hashing the full joined name into the suffix when it must be cut.
 */
export function boundedName(parts: readonly string[], maxLength = KUBERNETES_NAME_MAX): string {
  const joined = parts.filter((part) => part.length > 0).join("-");
  if (!isDnsLabel(joined, Number.MAX_SAFE_INTEGER)) {
    throw new Error(`boundedName: "${joined}" is not made of DNS-1123 label parts`);
  }
  return joined.length <= maxLength ? joined : withHashSuffix(joined, joined, maxLength);
}
