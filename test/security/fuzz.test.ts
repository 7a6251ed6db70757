import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import { ADMIN_TOKEN, call, createSubscription, createTopic, partitionStubs, produce, uniqueName } from "../helpers";
import { createKey } from "./keys";

// Throws random and malformed requests at every route of the app and checks that each answer
// is a 4xx JSON error or one of the route's documented 2xx answers, never a 5xx, and that a
// refused request changed nothing. New routes are fuzzed as soon as they are in the app.

const RUNS_PER_ROUTE = 100;
const ROUTE_TIMEOUT_MS = 60_000;

// Hono lists a route once per handler (validators included): once each here.
const routes = [
  ...new Map(
    createApp()
      .routes.filter((r) => r.method !== "ALL")
      .map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }]),
  ).values(),
];

interface Fixture {
  topic: string;
  sub: string;
  tokens: string[];
  documented: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}
let fixture: Fixture;

beforeAll(async () => {
  const topic = await createTopic(2, uniqueName("fuzz"));
  // Long leases and many deliveries: nothing of the fixture changes by time alone meanwhile.
  const sub = await createSubscription(topic, { start_position: "earliest", visibility_timeout_seconds: 43_200, max_deliveries: 1000 });
  await produce(topic, [{ body: { n: 1 } }, { body: "two", key: "k" }, { body: 3, delay_seconds: 3600 }]);
  const keys = await Promise.all([createKey(["admin"]), createKey([`produce:${topic}`]), createKey([`consume:${topic}`, "produce:fz.**"])]);
  const doc = await call("GET", "/openapi.json", undefined, { token: null });
  fixture = { topic, sub, tokens: [ADMIN_TOKEN, ...keys.map((k) => k.secret)], documented: doc.body.paths };
}, 30_000);

/** Everything a refused request must leave as it was: the catalog and the fixture's logs. */
async function snapshot(): Promise<string> {
  const tables = await Promise.all(
    ["topics", "subscriptions", "api_keys"].map(async (t) => (await env.CATALOG.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()).results),
  );
  // Offsets only grow by appends; counts also move with time (leases, TTLs) and are left out.
  const offsets = await Promise.all(
    [fixture.topic, `${fixture.topic}.dlq`].map(async (t) =>
      Promise.all((await partitionStubs(t)).map(async (stub) => (await stub.stats()).nextOffset)),
    ),
  );
  return JSON.stringify({ tables, offsets });
}

// --- what the requests are made of ---

const hugeNumbers = fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -(2 ** 63), 1e-320, -0, 0.1, 4294967296, 1e21);
const hostileString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom("", " ", "..", ".", "%", "%00", "%ff", "\u0000", "\ud800", "🦀".repeat(50), "a".repeat(300), "null", "__proto__", "constructor", "*", "**"),
);
const nameLike = fc.oneof(
  fc.stringMatching(/^fz-[A-Za-z0-9._-]{1,20}$/),
  hostileString,
);
// Fields the API knows, so that bodies get past the first check now and then.
const FIELDS = [
  "messages", "id", "key", "headers", "body", "priority", "delay_seconds", "deliver_at", "ttl_seconds", "max_messages",
  "wait_seconds", "visibility_timeout_seconds", "filter", "receipts", "dead_letter", "reason", "to", "max", "partitions",
  "dedup_window_seconds", "retention_seconds", "message_ttl_seconds", "overflow", "mode", "start_position",
  "max_deliveries", "retry_backoff", "surge", "name", "scopes", "rate_limit", "produce_per_second", "ack",
];

const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.double(),
    hugeNumbers,
    hostileString,
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom("earliest", "latest", "shared", "ordered", "admin", "consume:**", "2024-01-01T00:00:00Z", "reject"),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom(...FIELDS)), tie("value"), { maxKeys: 4 }),
  ),
})).value;


const knownFieldsBody = fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 5 });

// A valid body per route, which the fuzzer bends one field at a time: most requests then get
// past the first checks and reach the route's own logic.
const SUBSCRIPTION = "/v1/topics/:topic/subscriptions/:subscription";
const EXAMPLES: Record<string, Record<string, unknown>> = {
  "PUT /v1/topics/:topic": { partitions: 2, retention_seconds: 3600, max_messages: 100 },
  [`PUT ${SUBSCRIPTION}`]: { mode: "shared", visibility_timeout_seconds: 30, retry_backoff: { kind: "fixed" } },
  "POST /v1/topics/:topic/messages": { messages: [{ body: { a: 1 }, key: "k", headers: { v: "1" }, priority: 3 }] },
  [`POST ${SUBSCRIPTION}/receive`]: { max_messages: 5, filter: { headers: { v: "1" } } },
  [`POST ${SUBSCRIPTION}/stream`]: { max_messages: 5, wait_seconds: 0, heartbeat_seconds: 5 },
  [`POST ${SUBSCRIPTION}/ack`]: { receipts: ["x"] },
  [`POST ${SUBSCRIPTION}/nack`]: { receipts: ["x"], delay_seconds: 5, reason: "r" },
  [`POST ${SUBSCRIPTION}/extend`]: { receipts: ["x"], visibility_timeout_seconds: 10 },
  [`POST ${SUBSCRIPTION}/seek`]: { to: "latest" },
  [`POST ${SUBSCRIPTION}/redrive`]: { max: 10 },
  "POST /v1/keys": { name: "fuzz", scopes: ["consume:fz.*"], rate_limit: { produce_per_second: 5 } },
};

function bentBody(route: string): fc.Arbitrary<string> {
  const example = EXAMPLES[route] ?? {};
  return fc
    .record({
      op: fc.constantFrom("keep", "set", "set", "delete", "inner"),
      field: fc.constantFrom(...Object.keys(example), ...FIELDS),
      value: anyValue,
    })
    .map(({ op, field, value }) => {
      const body: Record<string, unknown> = structuredClone(example);
      if (op === "set") body[field] = value;
      if (op === "delete") delete body[field];
      if (op === "inner") {
        // Bend a field one level down: inside the first message, the filter, the back-off.
        const inner = Object.values(body).find((v) => typeof v === "object" && v !== null);
        const target = Array.isArray(inner) ? inner[0] : inner;
        if (typeof target === "object" && target !== null) (target as Record<string, unknown>)[field] = value;
      }
      return JSON.stringify(body);
    });
}

const rawBody = fc.oneof(
  knownFieldsBody.map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  hostileString,
  fc.constantFrom("", "{", "}", "[]", "null", "1e999", '{"a":1,"a":2}', '{"messages":[{"body":1}]', "\ufeff{}", "[".repeat(5000) + "]".repeat(5000)),
  fc.nat({ max: 2000 }).map((n) => `{"messages":[${Array.from({ length: n }, () => '{"body":1}').join(",")}]}`),
);

const contentType = fc.constantFrom<string | undefined>(
  "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x", "application/problem+json", undefined, "*/*",
);

/** encodeURIComponent, after replacing lone surrogates (which it refuses) with U+FFFD. */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

interface FuzzRequest {
  method: string;
  path: string;
  token: string | null;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Random requests aimed at `route`. */
const MUTATING = new Set(["PUT", "DELETE"]);

function requests(route: { method: string; path: string }): fc.Arbitrary<FuzzRequest> {
  const mutates = MUTATING.has(route.method);
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")),
      // Creating, changing or deleting the fixture is fine, but would change what later runs test.
      topic: mutates ? nameLike : fc.oneof(fc.constant(fixture.topic), nameLike),
      sub: mutates ? nameLike : fc.oneof(fc.constant(fixture.sub), nameLike),
      id: fc.oneof(fc.stringMatching(/^[0-9A-Z]{16}$/), hostileString),
      query: fc.oneof(fc.constant(""), hostileString.map((q) => `?${encode(q)}=1`)),
      encode: fc.boolean(),
      // Header values are bytes; workerd warns about (and re-encodes) anything outside ASCII.
      token: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom<string | null>(...fixture.tokens) },
        fc.constantFrom<string | null>(null, "", "wk_", "Bearer", `${fixture.tokens[1]}x`),
        hostileString.map(ascii),
      ),
      type: fc.oneof({ weight: 4, arbitrary: fc.constant("application/json") }, contentType),
      extra: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,10}$/), fc.string({ maxLength: 50 }).map(ascii), { maxKeys: 3 }),
      body: fc.oneof({ weight: 3, arbitrary: bentBody(`${route.method} ${route.path}`) }, rawBody),
    })
    // The method is drawn apart from the route: a GET route's path sent as DELETE must not
    // delete the fixture either.
    .filter((r) => !(MUTATING.has(r.method) && (r.topic === fixture.topic || r.sub === fixture.sub)))
    .map((r) => {
      const fill = (value: string) => (r.encode ? encode(value) : value.replace(/[/?#]/g, "_"));
      const path =
        route.path.replace(":topic", fill(r.topic)).replace(":subscription", fill(r.sub)).replace(":id", fill(r.id)) + r.query;
      const headers: Record<string, string> = { ...r.extra };
      if (r.type !== undefined) headers["content-type"] = r.type;
      const hasBody = r.method !== "GET" && r.method !== "HEAD";
      // A valid long poll would only wait; refused or not, the checks are the same with no wait.
      const body = hasBody ? r.body.replace(/"wait_seconds":\s*[0-9.e+]+/g, '"wait_seconds":0') : undefined;
      return { method: r.method, path, token: r.token, headers, body };
    });
}

/** The 2xx statuses /openapi.json documents for `method` (HEAD: GET's) on the Hono `path`. */
function documented2xx(method: string, path: string): string[] {
  const openapiPath = path.replace(/:([a-z_]+)/g, "{$1}");
  const operation = fixture.documented[openapiPath]?.[method === "HEAD" ? "get" : method.toLowerCase()];
  // /docs, /openapi.json and the dashboard's page and files are plain GET routes, outside the document they serve.
  const page = path === "/docs" || path === "/openapi.json" || path === "/" || path.startsWith("/ui/");
  const plainGet = page && (method === "GET" || method === "HEAD");
  if (!operation) return plainGet ? ["200"] : [];
  return Object.keys(operation.responses).filter((s) => s.startsWith("2"));
}

const app = createApp();

/**
 * Sends `request` to the app, as the Worker's fetch handler would, with the real bindings.
 * (Not through `exports.default.fetch`: in vitest-pool-workers 0.15 each call through it
 * makes the next ones slower, which thousands of calls cannot afford.)
 */
async function send(request: FuzzRequest): Promise<{ status: number; headers: Headers; body: any } | null> {
  const headers = new Headers(request.headers);
  if (request.token !== null) headers.set("authorization", `Bearer ${request.token}`);
  const init: RequestInit = { method: request.method, headers };
  if (request.body !== undefined) init.body = request.body;
  let raw: Request;
  try {
    raw = new Request(`http://weir.test${request.path}`, init);
  } catch {
    return null; // not a request a client could send (e.g. a method with a body it may not have)
  }
  const ctx = createExecutionContext();
  const response = await app.fetch(raw, env, ctx);
  await waitOnExecutionContext(ctx);
  // An accepted stream is only checked for its status and type: reading it would wait for its
  // end, which an accepted body may put minutes away.
  if (response.headers.get("content-type") === "application/x-ndjson") {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, body: null };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

describe("fuzzing every route", () => {
  it.each(routes)("answers $method $path with a 4xx or a documented 2xx, and refusals change nothing", async (route) => {
    let before = await snapshot();
    await fc.assert(
      fc.asyncProperty(requests(route), async (request) => {
        const answer = await send(request);
        if (answer === null) return;
        const context = `${request.method} ${request.path} → ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 300)}`;
        expect(answer.status, context).toBeLessThan(500);
        if (answer.status >= 400) {
          if (request.method !== "HEAD") {
            expect(answer.headers.get("content-type"), context).toContain("application/json");
            expect(typeof answer.body.error.code, context).toBe("string");
            expect(typeof answer.body.error.message, context).toBe("string");
          }
          expect(await snapshot(), `state changed by a refused ${context}`).toBe(before);
        } else {
          expect(answer.status, context).toBeGreaterThanOrEqual(200);
          // The request's method may be another route's on the same path: that route's answers.
          expect(documented2xx(request.method, route.path), context).toContain(String(answer.status));
          before = await snapshot();
        }
      }),
      { numRuns: RUNS_PER_ROUTE },
    );
  }, ROUTE_TIMEOUT_MS);

  it("answers random paths with a 4xx, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(hostileString, fc.constantFrom("v1", "topics", "keys", "subscriptions", "messages")), { maxLength: 7 }),
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
        fc.constantFrom(...fixture.tokens, null),
        async (segments, method, token) => {
          const path = "/" + segments.map(encode).join("/");
          const answer = await send({ method, path, token, headers: {}, body: method === "GET" ? undefined : "{}" });
          if (answer === null) return;
          expect(answer.status, `${method} ${path}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  }, ROUTE_TIMEOUT_MS);
});
