import type { Context } from "hono";
import type { App, AppEnv } from "./context";
import { PAGE_FILES } from "./page-files";

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
 * Serves a file of public/ (embedded in the bundle by scripts/embed-pages.mjs) with the policy
 * above. The pages are the sign-in page, so they need no key; every API call the dashboard
 * makes does. A browser revalidates each time (no-cache) and gets a 304 while the file is the same.
 */
function servePage(c: Context<AppEnv>, path: string): Response | Promise<Response> {
  const file = PAGE_FILES[path];
  // A file public/ does not have is any unknown route (app.ts's notFound).
  if (!file) return c.notFound();
  const headers = new Headers({
    "Content-Type": file.type,
    ETag: file.etag,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  });
  const known = c.req.header("if-none-match");
  if (known !== undefined && known.split(",").some((tag) => tag.trim() === file.etag)) return new Response(null, { status: 304, headers });
  return new Response(file.body, { status: 200, headers });
}

/** The dashboard at /, the API docs at /docs, and their scripts and styles under /ui/. */
export function registerPageRoutes(app: App): void {
  for (const [route, file] of Object.entries(PAGES)) app.get(route, (c) => servePage(c, file));
  app.get("/ui/:file{[a-z0-9-]+\\.(?:js|css|svg)}", (c) => servePage(c, `/ui/${c.req.param("file")}`));
}
