import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { SOURCES } from "../protocol/event";
import type { CollectorMetrics } from "../metrics";
import type { SpoolStatus } from "../spool/spool-writer";
import type { InsightQueries, InsightQuery } from "../store/store";
import type { ProcessCounters } from "../telemetry";

const DEFAULT_WINDOW_MS = 60 * 60_000;
/**
 * How long /api/v1/quality waits for the store's part. A partitioned store does not refuse, it
 * hangs until the client's request timeout (30 s); the ingest counts must not wait with it.
 */
const QUALITY_STORE_WAIT_MS = 5_000;

/** Rejects after `ms` unless the promise settles first (the timer does not keep the process up). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const epochMs = z.coerce.number().int().nonnegative();
const filters = {
  region: z.string().min(1).max(64).optional(),
  device: z.string().min(1).max(64).optional(),
  source: z.enum(SOURCES).optional(),
};
const windowSchema = z.object({ from: epochMs.optional(), to: epochMs.optional(), ...filters }).strict();
const rankingSchema = windowSchema
  .extend({ by: z.enum(["track", "artist"]).default("track"), limit: z.coerce.number().int().min(1).max(100).default(10) })
  .strict();
const concurrentSchema = z.object({ at: epochMs.optional(), ...filters }).strict();

export class BadParameter extends Error {
  constructor(
    readonly parameter: string,
    message: string,
    readonly value: unknown,
  ) {
    super(message);
  }
}

/** Parses query parameters; the first problem becomes a 400 that names the parameter. */
function parse<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const parameter = issue.code === "unrecognized_keys" ? issue.keys[0] : String(issue.path[0] ?? "query");
  const value = (query as Record<string, unknown>)[parameter];
  const message = issue.code === "unrecognized_keys" ? "is not a known parameter" : issue.message;
  throw new BadParameter(parameter, message, value);
}

function toWindow(
  query: { from?: number; to?: number; region?: string; device?: string; source?: InsightQuery["source"] },
  now: number,
): InsightQuery {
  const to = query.to ?? now;
  const from = query.from ?? to - DEFAULT_WINDOW_MS;
  if (from >= to) throw new BadParameter("from", `must be before to (${to})`, from);
  return { from, to, region: query.region, device: query.device, source: query.source };
}

/** Paths anyone may reach: probes, Prometheus, and the public chart library. */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/assets/chart.umd.min.js"]);

function tokenMatches(expected: Buffer, presented: string | undefined): boolean {
  if (!presented) return false;
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface HttpDependencies {
  readonly insights: InsightQueries;
  /** The stages' counts, summed (read per request). */
  readonly counters: () => ProcessCounters;
  readonly metrics: CollectorMetrics;
  /** Not ready while starting or stopping, and while the spool is nearly full. */
  readonly readiness: () => { ready: boolean; reason?: string };
  /** Default: always alive. */
  readonly liveness?: () => { alive: boolean; reason?: string };
  readonly spool: () => SpoolStatus;
  readonly log: Logger;
  readonly clock?: () => number;
  /** When set, everything but OPEN_PATHS needs `Authorization: Bearer <token>` (the page: `?token=`). */
  readonly apiToken?: string;
}

const dashboardHtml = readFileSync(join(__dirname, "..", "..", "public", "dashboard.html"), "utf8");
const chartJs = readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"));

/** Health, metrics, the insight API and the dashboard. */
export function createHttpServer(deps: HttpDependencies): FastifyInstance {
  // The dashboard polls every 2 s; per-request lines would drown the useful ones.
  const app = Fastify({ loggerInstance: deps.log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  const now = deps.clock ?? Date.now;

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof BadParameter) {
      return reply.code(400).send({
        error: "invalid query parameter",
        parameter: error.parameter,
        message: `${error.parameter} ${error.message}`,
        value: error.value ?? null,
      });
    }
    deps.log.error({ err: error }, "request failed");
    return reply.code(500).send({ error: "internal error" });
  });

  if (deps.apiToken) {
    const expected = Buffer.from(deps.apiToken);
    app.addHook("onRequest", async (request, reply) => {
      const path = request.url.split("?")[0];
      if (OPEN_PATHS.has(path)) return;
      const header = request.headers.authorization;
      const bearer = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
      // A browser cannot set a header when it opens the dashboard; the page then sends it itself.
      const fromQuery = path === "/" ? (request.query as Record<string, string | undefined>).token : undefined;
      if (tokenMatches(expected, bearer) || tokenMatches(expected, fromQuery)) return;
      return reply.code(401).header("www-authenticate", 'Bearer realm="streamstats"').send({ error: "unauthorized" });
    });
  }

  app.get("/healthz", async (_request, reply) => {
    const { alive, reason } = deps.liveness?.() ?? { alive: true };
    return alive ? { status: "ok" } : reply.code(503).send({ status: "failing", reason });
  });
  app.get("/readyz", async (_request, reply) => {
    const { ready, reason } = deps.readiness();
    return ready ? { status: "ready" } : reply.code(503).send({ status: "not ready", reason });
  });
  app.get("/metrics", async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));

  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(dashboardHtml));
  app.get("/assets/chart.umd.min.js", async (_request, reply) =>
    reply.type("application/javascript").header("cache-control", "max-age=3600").send(chartJs),
  );

  app.get("/api/v1/summary", async (request) => deps.insights.summary(toWindow(parse(windowSchema, request.query), now())));
  app.get("/api/v1/concurrent", async (request) => {
    const query = parse(concurrentSchema, request.query);
    const at = query.at ?? now();
    return { at, listeners: await deps.insights.concurrentListeners(at, query) };
  });
  app.get("/api/v1/streams-per-minute", async (request) =>
    deps.insights.streamsPerMinute(toWindow(parse(windowSchema, request.query), now())),
  );
  app.get("/api/v1/top", async (request) => {
    const query = parse(rankingSchema, request.query);
    return deps.insights.top(toWindow(query, now()), query.by, query.limit);
  });
  app.get("/api/v1/trending", async (request) => {
    const query = parse(rankingSchema, request.query);
    return deps.insights.trending(toWindow(query, now()), query.by, query.limit);
  });
  app.get("/api/v1/regions", async (request) => deps.insights.experienceByRegion(toWindow(parse(windowSchema, request.query), now())));
  app.get("/api/v1/quality", async (request) => {
    const window = toWindow(parse(windowSchema, request.query), now());
    // The ingest counts come from memory: they stay available while the store is down.
    const regions = await within(deps.insights.qualityByRegion(window), QUALITY_STORE_WAIT_MS, "the store").catch((error: Error) => {
      deps.log.warn({ err: error }, "quality: the store did not answer; ingest counts only");
      return null;
    });
    const counts = deps.counters();
    return {
      regions,
      received: { datagrams: counts.datagrams, events: counts.events },
      accepted: counts.accepted,
      stored: counts.storedEvents,
      rejected: { events: counts.rejectedEvents, datagrams: counts.rejectedDatagrams },
      duplicatesDropped: counts.rejectedEvents.duplicate,
      spool: deps.spool(),
    };
  });
  return app;
}
