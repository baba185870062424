import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Authenticated datagrams (optional): a first line
 *   #v1 kid=<key id> ts=<unix ms> mac=<base64url HMAC-SHA256, no padding>
 * followed by the usual NDJSON payload. The MAC covers "v1\n<kid>\n<ts>\n" + payload bytes.
 * See app/PROTOCOL.md for the test vector.
 */
export const SIGNATURE_PREFIX = "#v1 ";
const NEWLINE = 0x0a;
const HEADER = /^#v1 kid=([A-Za-z0-9_.-]{1,32}) ts=(\d{1,15}) mac=([A-Za-z0-9_-]{43})$/;

export interface SigningKey {
  readonly kid: string;
  readonly secret: Buffer;
}

function mac(key: Buffer, kid: string, ts: number, payload: Buffer): Buffer {
  return createHmac("sha256", key).update(`v1\n${kid}\n${ts}\n`).update(payload).digest();
}

/** What the client library does before sending: prepend the signature line. */
export function signDatagram(payload: Buffer, key: SigningKey, now: number): Buffer {
  const digest = mac(key.secret, key.kid, now, payload).toString("base64url");
  return Buffer.concat([Buffer.from(`${SIGNATURE_PREFIX}kid=${key.kid} ts=${now} mac=${digest}\n`), payload]);
}

export type Verification =
  | { readonly ok: true; readonly payload: Buffer; readonly mac: string }
  | { readonly ok: false; readonly reason: "unsigned" | "forged" | "stale" };

/**
 * Checks a datagram's signature against the active keys (two during a rotation). Freshness
 * is checked here; replays (a MAC seen before) are the caller's, with its bounded cache.
 */
export function verifyDatagram(datagram: Buffer, keys: ReadonlyMap<string, Buffer>, now: number, maxAgeMs: number): Verification {
  if (datagram.length < SIGNATURE_PREFIX.length || datagram.toString("latin1", 0, SIGNATURE_PREFIX.length) !== SIGNATURE_PREFIX)
    return { ok: false, reason: "unsigned" };
  const end = datagram.indexOf(NEWLINE);
  const header = HEADER.exec(datagram.toString("latin1", 0, end === -1 ? datagram.length : end));
  if (!header || end === -1) return { ok: false, reason: "forged" };
  const [, kid, tsText, presented] = header;
  const key = keys.get(kid);
  if (!key) return { ok: false, reason: "forged" };
  const ts = Number(tsText);
  const payload = datagram.subarray(end + 1);
  const expected = mac(key, kid, ts, payload);
  const given = Buffer.from(presented, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "forged" };
  if (Math.abs(now - ts) > maxAgeMs) return { ok: false, reason: "stale" };
  return { ok: true, payload, mac: presented };
}

/** Parses "kid:base64secret,kid2:base64secret" (COLLECTOR_AUTH_KEYS). */
export function parseSigningKeys(text: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [kid, secret] = entry.split(":");
    if (!kid || !/^[A-Za-z0-9_.-]{1,32}$/.test(kid) || !secret)
      throw new Error(`auth keys: "${kid ?? ""}" must be written kid:base64secret`);
    const bytes = Buffer.from(secret, "base64");
    if (bytes.length < 16) throw new Error(`auth keys: key "${kid}" must be at least 16 bytes (base64)`);
    if (keys.has(kid)) throw new Error(`auth keys: key id "${kid}" is listed twice`);
    keys.set(kid, bytes);
  }
  if (keys.size > 2) throw new Error(`auth keys: at most two keys are active at once (rotation), got ${keys.size}`);
  return keys;
}
