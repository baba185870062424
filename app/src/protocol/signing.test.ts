import type { Collector } from "../collector";
import { accountedFor, getJson, startCollector, waitFor } from "../../../test-support/collector/collector-harness";
import { sessionStart } from "../../../test-support/collector/events";
import { UdpEventClient } from "../client/udp-client";
import { encodeEvent } from "../client/packer";
import { parseSigningKeys, signDatagram, verifyDatagram } from "./signing";

// The test vector in app/PROTOCOL.md; the MAC was computed independently with
//   printf 'v1\nk2026a\n1764150000123\n<payload>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> -binary | base64url
const VECTOR = {
  keyBase64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
  kid: "k2026a",
  ts: 1764150000123,
  payload: '{"v":1,"id":"e1","type":"session_start","sid":"s1","uid":"u1","t":1764150000000,"seq":1,"region":"eu-west","device":"ios"}',
  header: "#v1 kid=k2026a ts=1764150000123 mac=otHhqCUDIXgzhbf-WQiWplsonXFKUDxJDR4AlPMYOV8",
};

describe("datagram signing", () => {
  const key = { kid: VECTOR.kid, secret: Buffer.from(VECTOR.keyBase64, "base64") };

  it("reproduces the documented test vector", () => {
    const signed = signDatagram(Buffer.from(VECTOR.payload), key, VECTOR.ts).toString();
    expect(signed).toBe(`${VECTOR.header}\n${VECTOR.payload}`);
  });

  it("verifies, and rejects forged, stale and unsigned datagrams by reason", () => {
    const keys = new Map([[key.kid, key.secret]]);
    const signed = signDatagram(Buffer.from(VECTOR.payload), key, VECTOR.ts);
    expect(verifyDatagram(signed, keys, VECTOR.ts + 1000, 30_000)).toMatchObject({ ok: true, payload: Buffer.from(VECTOR.payload) });
    const tampered = Buffer.from(signed);
    tampered[tampered.length - 3] ^= 1;
    expect(verifyDatagram(tampered, keys, VECTOR.ts, 30_000)).toEqual({ ok: false, reason: "forged" });
    expect(
      verifyDatagram(
        signDatagram(Buffer.from(VECTOR.payload), { kid: "k2026a", secret: Buffer.alloc(32, 7) }, VECTOR.ts),
        keys,
        VECTOR.ts,
        30_000,
      ),
    ).toEqual({ ok: false, reason: "forged" });
    expect(
      verifyDatagram(signDatagram(Buffer.from(VECTOR.payload), { kid: "other", secret: key.secret }, VECTOR.ts), keys, VECTOR.ts, 30_000),
    ).toEqual({ ok: false, reason: "forged" });
    expect(verifyDatagram(signed, keys, VECTOR.ts + 31_000, 30_000)).toEqual({ ok: false, reason: "stale" });
    expect(verifyDatagram(Buffer.from(VECTOR.payload), keys, VECTOR.ts, 30_000)).toEqual({ ok: false, reason: "unsigned" });
  });

  it("parses keys, allows two at once for rotation, and names bad entries", () => {
    expect([...parseSigningKeys(`a:${VECTOR.keyBase64},b:${VECTOR.keyBase64}`).keys()]).toEqual(["a", "b"]);
    expect(() => parseSigningKeys(`a:${VECTOR.keyBase64},b:${VECTOR.keyBase64},c:${VECTOR.keyBase64}`)).toThrow(/at most two keys/);
    expect(() => parseSigningKeys("a:c2hvcnQ=")).toThrow(/key "a" must be at least 16 bytes/);
    expect(() => parseSigningKeys("nokey")).toThrow(/must be written kid:base64secret/);
  });
});

describe("a collector that requires signed datagrams (real UDP)", () => {
  const current = { kid: "k-new", secret: Buffer.alloc(32, 1) };
  const previous = { kid: "k-old", secret: Buffer.alloc(32, 2) };
  let collector: Collector;

  beforeAll(async () => {
    collector = await startCollector({
      authKeys: `${current.kid}:${current.secret.toString("base64")},${previous.kid}:${previous.secret.toString("base64")}`,
    });
  });
  afterAll(async () => collector.stop());

  it("accepts both rotation keys and refuses unsigned, forged, stale and replayed datagrams, counting each", async () => {
    const raw = new UdpEventClient({ host: "127.0.0.1", port: collector.udpPort });
    const event = (n: number) => Buffer.from(encodeEvent(sessionStart({ id: `signed-${n}`, sid: `signed-${n}`, t: Date.now() })));
    const now = Date.now();
    await raw.sendRaw(signDatagram(event(1), current, now));
    await raw.sendRaw(signDatagram(event(2), previous, now));
    const replayed = signDatagram(event(3), current, now);
    await raw.sendRaw(replayed);
    await raw.sendRaw(replayed);
    await raw.sendRaw(event(4));
    await raw.sendRaw(signDatagram(event(5), { kid: current.kid, secret: Buffer.alloc(32, 9) }, now));
    await raw.sendRaw(signDatagram(event(6), current, now - 5 * 60_000));
    await raw.close();
    await waitFor(() => collector.stats.datagrams >= 7, 5_000, "7 datagrams");
    await accountedFor(collector);
    expect(collector.stats.accepted).toBe(3);
    expect(collector.stats.rejectedDatagrams).toMatchObject({ replayed: 1, unsigned: 1, forged: 1, stale: 1 });
    const metrics = await (await fetch(`http://127.0.0.1:${collector.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/collector_datagrams_rejected_total\{reason="replayed"\} 1/);
    expect(
      (await getJson<{ rejected: { datagrams: Record<string, number> } }>(collector, "/api/v1/quality")).body.rejected.datagrams.forged,
    ).toBe(1);
  });

  it("is what the client library does when given a key", async () => {
    const client = new UdpEventClient({ host: "127.0.0.1", port: collector.udpPort, signWith: current });
    const before = collector.stats.accepted;
    await client.send([
      sessionStart({ id: "lib-1", sid: "lib-1", t: Date.now() }),
      sessionStart({ id: "lib-2", sid: "lib-2", t: Date.now() }),
    ]);
    await client.close();
    await waitFor(() => collector.stats.accepted >= before + 2, 5_000, "2 accepted events");
  });
});
