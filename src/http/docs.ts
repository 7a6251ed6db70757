import { createRoute, z } from "@hono/zod-openapi";
import type { App } from "./context";
import { jsonResponse } from "./responses";

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Service"],
  summary: "Liveness; needs no key",
  responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }), "The Worker is up") },
});

/** /healthz and /openapi.json (made from the route schemas); its viewer at /docs is a page (pages.ts). */
export function registerDocsRoutes(app: App): void {
  app.openapi(healthRoute, (c) => c.json({ ok: true as const }, 200));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Weir",
      version: "1",
      description: "An HTTP message queue on Cloudflare Workers. Every route but /healthz, /openapi.json, /docs and the dashboard (/) needs a bearer key.",
    },
    security: [{ bearer: [] }],
  });
}
