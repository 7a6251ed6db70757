import type { Context } from "hono";
import type { App, AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * The pages' one policy: everything from this origin, nothing inline, nothing from anywhere
 * else. The dashboard draws its charts as SVG elements and talks only to this Worker.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Which file of public/ answers which path. */
const PAGES: Readonly<Record<string, string>> = {
  "/": "/index.html",
  "/docs": "/docs.html",
};

/**
 * Serves a file of public/ (the Worker's static assets, wrangler.toml [assets]) with the
 * policy above. The pages are the sign-in page, so they need no key; every API call the
 * dashboard makes does.
 */
async function serveAsset(c: Context<AppEnv>, path: string): Promise<Response> {
  if (!c.env.ASSETS) throw new ApiError("not_configured", "the Worker has no ASSETS binding (wrangler.toml [assets])");
  const asset = await c.env.ASSETS.fetch(new URL(path, c.req.url));
  if (asset.status !== 200) return c.json(new ApiError("not_found", "no such route; see /docs").toBody(), 404);
  const response = new Response(asset.body, asset);
  response.headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  response.headers.set("X-Content-Type-Options", "nosniff");
  response.headers.set("Referrer-Policy", "no-referrer");
  response.headers.set("Cache-Control", "no-cache");
  return response;
}

/** The dashboard at /, the API docs at /docs, and their scripts and styles under /ui/. */
export function registerPageRoutes(app: App): void {
  for (const [route, file] of Object.entries(PAGES)) app.get(route, (c) => serveAsset(c, file));
  app.get("/ui/:file{[a-z0-9-]+\\.(?:js|css|svg)}", (c) => serveAsset(c, `/ui/${c.req.param("file")}`));
}
