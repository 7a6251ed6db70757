import { createRoute, z } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import type { App } from "./context";
import { jsonResponse } from "./responses";

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Service"],
  summary: "Liveness; needs no key",
  responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }), "The Worker is up") },
});

/** /healthz, /openapi.json (made from the route schemas) and interactive docs at /docs. */
export function registerDocsRoutes(app: App): void {
  app.openapi(healthRoute, (c) => c.json({ ok: true as const }, 200));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Weir",
      version: "1",
      description: "An HTTP message queue on Cloudflare Workers. Every route but /healthz and the docs needs a bearer key.",
    },
    security: [{ bearer: [] }],
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json" }));
}
