import type { Collector } from "../collector";
import { startCollector } from "../../../test-support/collector/collector-harness";

const TOKEN = "test-token-0123456789abcdef";

describe("API bearer token (real collector over HTTP)", () => {
  let collector: Collector;
  beforeAll(async () => {
    collector = await startCollector({ apiToken: TOKEN });
  });
  afterAll(async () => collector.stop());

  const request = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${collector.httpPort}${path}`, { headers });

  it.each(["/api/v1/summary", "/api/v1/top", "/"])("rejects %s without a token with 401", async (path) => {
    const response = await request(path);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("rejects a wrong token, including one that differs only at the end", async () => {
    expect((await request("/api/v1/summary", { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await request("/api/v1/summary", { authorization: `Bearer ${TOKEN.slice(0, -1)}X` })).status).toBe(401);
    expect((await request(`/?token=${TOKEN}x`)).status).toBe(401);
  });

  it("accepts the token as a bearer header, and on the dashboard page as ?token=", async () => {
    expect((await request("/api/v1/summary", { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await request(`/?token=${TOKEN}`)).status).toBe(200);
    // The query form is for the page only, not for the API.
    expect((await request(`/api/v1/summary?token=${TOKEN}`)).status).toBe(401);
  });

  it.each(["/healthz", "/readyz", "/metrics", "/assets/chart.umd.min.js"])("leaves %s open", async (path) => {
    expect((await request(path)).status).toBe(200);
  });

  it("refuses a token shorter than 16 characters at startup", async () => {
    await expect(startCollector({ apiToken: "short" })).rejects.toThrow(/apiToken: must be at least 16 characters/);
  });
});
