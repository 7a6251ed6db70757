import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { MAX_CONTROL_REQUEST_BYTES, MAX_PRODUCE_REQUEST_BYTES } from "../shared/limits";
import { requireAccess } from "./auth";
import { registerConsumeRoutes } from "./consume";
import type { AppEnv } from "./context";
import { registerDocsRoutes } from "./docs";
import { registerKeyRoutes } from "./keys";
import { RoutingFailure } from "../routing/failures";
import { ApiError, routingError } from "./errors";
import { registerMessageRoutes } from "./messages";
import { registerMetricsRoutes } from "./metrics";
import { registerObserveRoutes } from "./observe";
import { registerPageRoutes } from "./pages";
import { registerReplayRoutes } from "./replay";
import { requestLimits } from "./request-limits";
import { registerStatsRoutes } from "./stats";
import { registerStreamRoutes } from "./stream";
import { registerTopicRoutes } from "./topics";
import { registerTransactionRoutes } from "./transactions";
import { validationError } from "./validation";

// Produce and transaction prepare carry messages: the produce request limit applies to both.
const PRODUCE_PATH = /^\/v1\/topics\/[^/]+\/(messages|transactions)$/;

/** The Weir HTTP API. */
export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });

  app.use("*", requestLimits());
  app.use("*", requireAccess());
  app.use("*", async (c, next) => {
    const limit = PRODUCE_PATH.test(c.req.path) ? MAX_PRODUCE_REQUEST_BYTES : MAX_CONTROL_REQUEST_BYTES;
    return bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new ApiError("payload_too_large", `the request body exceeds the limit of ${limit} bytes`);
      },
    })(c, next);
  });
  app.use("*", async (c, next) => {
    // A body must be JSON; without this a form-encoded body would read as {} and pass as empty.
    const type = c.req.header("content-type");
    const hasBody = c.req.header("content-length") !== "0" && c.req.raw.body !== null;
    if (hasBody && type !== undefined && !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) {
      throw new ApiError("unsupported_media_type", "send the body as JSON, with Content-Type: application/json");
    }
    return next();
  });

  registerDocsRoutes(app);
  registerPageRoutes(app);
  registerTopicRoutes(app);
  registerMessageRoutes(app);
  registerTransactionRoutes(app);
  registerStatsRoutes(app);
  registerConsumeRoutes(app);
  registerStreamRoutes(app);
  registerReplayRoutes(app);
  registerKeyRoutes(app);
  registerMetricsRoutes(app);
  registerObserveRoutes(app);

  app.notFound((c) => c.json(new ApiError("not_found", "no such route; see /docs").toBody(), 404));
  app.onError((error, c) => {
    if (error instanceof RoutingFailure) error = routingError(error);
    if (error instanceof ApiError) {
      if (error.retryAfter !== undefined) c.header("Retry-After", String(error.retryAfter));
      return c.json(error.toBody(), error.status);
    }
    if (error instanceof HTTPException) {
      // Hono's own refusals: a body that is not JSON, too large, or sent without a JSON type.
      if (error.status === 415) {
        return c.json(new ApiError("unsupported_media_type", "send the body as JSON, with Content-Type: application/json").toBody(), 415);
      }
      const code = error.status === 400 ? "invalid_json" : error.status === 413 ? "payload_too_large" : "invalid_request";
      const api = new ApiError(code, error.message || "invalid request");
      return c.json(api.toBody(), error.status === 413 ? 413 : 400);
    }
    console.error(JSON.stringify({ event: "unhandled_error", name: error.name, message: error.message }));
    return c.json(new ApiError("internal", "internal error").toBody(), 500);
  });
  return app;
}
