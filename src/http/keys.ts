import { createRoute, z } from "@hono/zod-openapi";
import { KeyStore, type KeyRecord } from "../catalog/keys";
import { formatScope, parseScope, type Scope } from "../shared/scopes";
import { sqsSecretAccessKey } from "../shared/sqs-credentials";
import { ApiError } from "./errors";
import type { App } from "./context";
import { iso } from "./views";
import { commonErrors, jsonBody, jsonResponse } from "./responses";
import { ErrorSchema } from "./schemas/common";
import { CreatedKeySchema, CreateKeyBody, KeyParams, KeySchema } from "./schemas/keys";

const tags = ["API keys"];

const createKeyRoute = createRoute({
  method: "post",
  path: "/v1/keys",
  tags,
  summary: "Create an API key; its secret is in this answer only",
  request: { body: jsonBody(CreateKeyBody) },
  responses: { 201: jsonResponse(CreatedKeySchema, "The key, with its secret"), ...commonErrors },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/keys",
  tags,
  summary: "List API keys (without secrets)",
  responses: { 200: jsonResponse(z.object({ keys: z.array(KeySchema) }).openapi("KeyList"), "Every key"), ...commonErrors },
});

const deleteKeyRoute = createRoute({
  method: "delete",
  path: "/v1/keys/{id}",
  tags,
  summary: "Revoke an API key",
  description: "Refused at once by this Worker isolate, and by every other within 5 seconds (their cache).",
  request: { params: KeyParams },
  responses: {
    204: { description: "Revoked" },
    ...commonErrors,
    404: jsonResponse(ErrorSchema, "No key with this id"),
  },
});

function keyView(key: KeyRecord) {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes.map(formatScope),
    rate_limit: { produce_per_second: key.rateLimit.producePerSecond, receive_per_second: key.rateLimit.receivePerSecond },
    created_at: iso(key.createdAt),
  };
}

/** Admin routes for API keys. */
export function registerKeyRoutes(app: App): void {
  app.openapi(createKeyRoute, async (c) => {
    const body = c.req.valid("json");
    // The schema has checked every scope; parse them again for their typed form, once each.
    const scopes = [...new Set(body.scopes)].map((text) => parseScope(text) as Scope);
    const { key, token } = await new KeyStore(c.env.CATALOG).create(body.name, scopes, {
      producePerSecond: body.rate_limit?.produce_per_second ?? null,
      receivePerSecond: body.rate_limit?.receive_per_second ?? null,
    });
    const sqs = { access_key_id: key.id, secret_access_key: await sqsSecretAccessKey(c.env, key.id) };
    return c.json({ ...keyView(key), secret: token, sqs }, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    const keys = await new KeyStore(c.env.CATALOG).list();
    return c.json({ keys: keys.map(keyView) }, 200);
  });

  app.openapi(deleteKeyRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await new KeyStore(c.env.CATALOG).delete(id))) throw new ApiError("key_not_found", `there is no key ${id}`);
    return c.body(null, 204);
  });
}
