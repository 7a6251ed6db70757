import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { KeyStore, looksLikeKey, type KeyRecord } from "../catalog/keys";
import type { RateAction } from "../rate-limiter/rate-limiter";
import { allows, formatScope, type Scope, type TopicAction } from "../shared/scopes";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * Who may call a route. `produce` and `consume` name the topic of the path's `:topic`;
 * `count` makes the call count against the key's rate limit for that action.
 */
export type Access =
  | { need: "public" }
  | { need: "admin" }
  /** The `metrics` scope (or admin). */
  | { need: "metrics" }
  /** produce or consume on the path's topic: a message's trace. */
  | { need: "produce_or_consume" }
  | { need: TopicAction; count?: RateAction };

const PUBLIC: Access = { need: "public" };
const ADMIN: Access = { need: "admin" };
const CONSUME: Access = { need: "consume", count: "receive" };
const PRODUCE: Access = { need: "produce", count: "produce" };
const SUBSCRIPTION = "/v1/topics/:topic/subscriptions/:subscription";

/**
 * Every route of the app, as `<METHOD> <Hono path>`, and who may call it: the one place where
 * scopes are decided. test/http/auth.test.ts fails for a route that is missing here; until it
 * is added, such a route answers only the admin scope.
 */
export const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  "GET /healthz": PUBLIC,
  "GET /openapi.json": PUBLIC,
  "GET /docs": PUBLIC,
  // The dashboard's sign-in page and its files: every API call it makes needs a key.
  "GET /": PUBLIC,
  "GET /ui/:file{[a-z0-9-]+\\.(?:js|css|svg)}": PUBLIC,
  "GET /metrics": { need: "metrics" },

  "GET /v1/topics": ADMIN,
  "PUT /v1/topics/:topic": ADMIN,
  "GET /v1/topics/:topic": ADMIN,
  "DELETE /v1/topics/:topic": ADMIN,
  "GET /v1/topics/:topic/subscriptions": ADMIN,
  [`PUT ${SUBSCRIPTION}`]: ADMIN,
  [`GET ${SUBSCRIPTION}`]: ADMIN,
  [`DELETE ${SUBSCRIPTION}`]: ADMIN,
  "GET /v1/keys": ADMIN,
  "POST /v1/keys": ADMIN,
  "DELETE /v1/keys/:id": ADMIN,

  // Every produce-scope route counts against the key's produce limit, every consume-scope
  // route against its receive limit: none of them is free to call in a loop.
  "POST /v1/topics/:topic/messages": PRODUCE,
  "DELETE /v1/topics/:topic/messages/:id": PRODUCE,
  "POST /v1/topics/:topic/transactions": PRODUCE,
  "GET /v1/topics/:topic/transactions/:id": PRODUCE,
  "POST /v1/topics/:topic/transactions/:id/commit": PRODUCE,
  "POST /v1/topics/:topic/transactions/:id/rollback": PRODUCE,
  // A message's trace: counted against the limit of the scope that lets the key read it.
  "GET /v1/topics/:topic/messages/:id": { need: "produce_or_consume" },

  // Consumers read their topic's depth to scale themselves.
  "GET /v1/topics/:topic/stats": CONSUME,
  "GET /v1/topics/:topic/history": CONSUME,
  [`GET ${SUBSCRIPTION}/dead-letters`]: CONSUME,
  "GET /v1/topics/:topic/stats/rows": CONSUME,
  [`POST ${SUBSCRIPTION}/receive`]: CONSUME,
  [`POST ${SUBSCRIPTION}/stream`]: CONSUME,
  [`POST ${SUBSCRIPTION}/ack`]: CONSUME,
  [`POST ${SUBSCRIPTION}/nack`]: CONSUME,
  [`POST ${SUBSCRIPTION}/extend`]: CONSUME,
  [`POST ${SUBSCRIPTION}/seek`]: CONSUME,
  // A redrive also needs consume on the subscription's dead-letter topic (checked by its route).
  [`POST ${SUBSCRIPTION}/redrive`]: CONSUME,
};

/** Who sent a request: the bootstrap ADMIN_TOKEN, or an API key. */
export type Principal = { kind: "admin_token" } | { kind: "key"; key: KeyRecord };

const ADMIN_TOKEN_SCOPES: readonly Scope[] = [{ kind: "admin" }];

/**
 * The one place that checks credentials and scopes, before any body is read: 401
 * `unauthorized` for a missing or unknown key, 403 `forbidden` for a key without the route's
 * scope (ROUTE_ACCESS), 429 `rate_limited` with Retry-After (seconds) for a key over its rate
 * limit, 503 `not_configured` when ADMIN_TOKEN is not set. An unknown route needs a valid key
 * and then answers 404.
 */
export function requireAccess(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const route = handlerRoute(c);
    const access: Access | null = route ? (ROUTE_ACCESS[route.key] ?? ADMIN) : null;
    if (access?.need === "public") return next();
    if (!c.env.ADMIN_TOKEN) {
      throw new ApiError("not_configured", "the server has no ADMIN_TOKEN; set it with `wrangler secret put ADMIN_TOKEN`");
    }
    const principal = await authenticate(c);
    const scopes = principal.kind === "key" ? principal.key.scopes : ADMIN_TOKEN_SCOPES;
    c.set("scopes", scopes);
    c.set("stillAuthorized", async () => principal.kind === "admin_token" || (await authenticate(c).then(() => true, () => false)));
    if (access && route) {
      const topic = access.need === "admin" || access.need === "metrics" ? null : pathParam(c, route.path, "topic");
      const allowed =
        access.need === "produce_or_consume"
          ? allows(scopes, "produce", topic) || allows(scopes, "consume", topic)
          : allows(scopes, access.need, topic);
      if (!allowed) {
        const needed =
          access.need === "admin" || access.need === "metrics"
            ? access.need
            : access.need === "produce_or_consume"
              ? `produce:${topic ?? "<topic>"} or consume:${topic ?? "<topic>"}`
              : `${access.need}:${topic ?? "<topic>"}`;
        throw forbidden(scopes, needed);
      }
      if (principal.kind === "key") {
        const count =
          access.need === "produce_or_consume"
            ? allows(scopes, "consume", topic)
              ? "receive"
              : "produce"
            : access.need === "produce" || access.need === "consume"
              ? access.count
              : undefined;
        if (count) await enforceRateLimit(c, principal.key, count);
      }
    }
    return next();
  };
}

async function authenticate(c: Context<AppEnv>): Promise<Principal> {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError("unauthorized", "send an API key as `Authorization: Bearer <key>`");
  const token = match[1]!;
  if (looksLikeKey(token)) {
    const key = await new KeyStore(c.env.CATALOG).verify(token);
    if (key) return { kind: "key", key };
  } else if (await sameSecret(token, c.env.ADMIN_TOKEN ?? "")) {
    return { kind: "admin_token" };
  }
  throw new ApiError("unauthorized", "the API key is not valid (unknown or revoked)");
}

async function enforceRateLimit(c: Context<AppEnv>, key: KeyRecord, action: RateAction): Promise<void> {
  const perSecond = action === "produce" ? key.rateLimit.producePerSecond : key.rateLimit.receivePerSecond;
  if (perSecond === null) return;
  const limiter = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(key.id));
  let outcome;
  try {
    outcome = await limiter.take(action, perSecond);
  } catch (error) {
    // A limiter that cannot be reached does not take the service down with it.
    console.error(JSON.stringify({ event: "rate_limiter_failed", key: key.id, message: String(error) }));
    return;
  }
  if (!outcome.ok) {
    const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
    throw new ApiError(
      "rate_limited",
      `key ${key.id} is limited to ${perSecond} ${action} requests a second; retry in ${seconds} s`,
      undefined,
      seconds,
    );
  }
}

/** The route that will answer (not a middleware), as ROUTE_ACCESS names it; null for none. */
function handlerRoute(c: Context<AppEnv>): { key: string; path: string } | null {
  const route = matchedRoutes(c)
    .filter((r) => r.method !== "ALL")
    .at(-1);
  return route ? { key: `${route.method} ${route.path}`, path: route.path } : null;
}

/** The decoded path segment where `routePath` has `:name`, or null if it cannot be decoded. */
function pathParam(c: Context<AppEnv>, routePath: string, name: string): string | null {
  const index = routePath.split("/").indexOf(`:${name}`);
  const raw = new URL(c.req.url).pathname.split("/")[index];
  if (index < 0 || raw === undefined) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

// The digest of the configured secret, per isolate: one hash per request instead of two.
let expectedDigest: { secret: string; digest: Promise<ArrayBuffer> } | null = null;

/** Compares two secrets in constant time, whatever their lengths (both are hashed first). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  if (expectedDigest?.secret !== expected) {
    expectedDigest = { secret: expected, digest: crypto.subtle.digest("SHA-256", encoder.encode(expected)) };
  }
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", encoder.encode(given)), expectedDigest.digest]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** 403: the caller's scopes lack `needed` (a scope as text, e.g. `consume:orders.dlq`). */
export function forbidden(scopes: readonly Scope[], needed: string): ApiError {
  return new ApiError("forbidden", `this key lacks the scope ${needed}`, { needed, has: scopes.map(formatScope) });
}
