import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { ApiError } from "./errors";

/** Routes anyone may call: liveness and the API's own documentation. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(["/healthz", "/openapi.json", "/docs"]);

/**
 * The one place that checks credentials: every route but PUBLIC_PATHS needs
 * `Authorization: Bearer <token>`. Today the only token is ADMIN_TOKEN, with every scope.
 */
export function requireToken(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) {
      throw new ApiError("not_configured", "the server has no ADMIN_TOKEN; set it with `wrangler secret put ADMIN_TOKEN`");
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError("unauthorized", "send an API key as `Authorization: Bearer <key>`");
    if (!(await sameSecret(match[1]!, expected))) throw new ApiError("unauthorized", "the API key is not valid");
    return next();
  };
}

/** Compares two secrets in constant time, whatever their lengths (both are hashed first). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
