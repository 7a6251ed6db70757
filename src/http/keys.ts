import { createRoute, z } from "@hono/zod-openapi";
import { KeyStore, type KeyRecord } from "../catalog/keys";
import { MAX_KEY_NAME_LENGTH, MAX_RATE_PER_SECOND, MAX_SCOPES_PER_KEY } from "../shared/limits";
import { formatScope, MAX_SCOPE_LENGTH, parseScope, type Scope } from "../shared/scopes";
import { ApiError } from "./errors";
import type { App } from "./context";
import { iso } from "./views";
import { commonErrors, jsonBody, jsonResponse } from "./responses";
import { ErrorSchema } from "./schemas";

const tags = ["API keys"];

const ScopeText = z
  .string()
  .max(MAX_SCOPE_LENGTH + "produce:".length)
  .superRefine((text, ctx) => {
    const scope = parseScope(text);
    if ("problem" in scope) ctx.addIssue({ code: "custom", message: scope.problem });
  })
  .openapi({
    description:
      "admin, produce:<topic pattern> or consume:<topic pattern>. A pattern's segments (split at dots) are literal, " +
      "* (exactly one segment) or ** (last only: one or more segments). See docs/security.md.",
    example: "consume:orders.*",
  });

const PerSecond = z.number().int().min(1).max(MAX_RATE_PER_SECOND).nullable().optional();

const CreateKeyBody = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(MAX_KEY_NAME_LENGTH)
      .regex(/^[^\p{Cc}]*$/u, "must not contain control characters")
      .openapi({ description: "What the key is for; need not be unique.", example: "billing-worker" }),
    scopes: z.array(ScopeText).min(1).max(MAX_SCOPES_PER_KEY),
    rate_limit: z
      .strictObject({
        produce_per_second: PerSecond.openapi({ description: "Produce requests a second; null: unlimited." }),
        receive_per_second: PerSecond.openapi({ description: "Receive requests a second; null: unlimited." }),
      })
      .optional()
      .openapi({ description: "Over it, 429 rate_limited with Retry-After. Default: unlimited." }),
  })
  .openapi("CreateKeyRequest");

const KeySchema = z
  .object({
    id: z.string().openapi({ example: "7K3QW9ZB2M4XH1RT" }),
    name: z.string(),
    scopes: z.array(z.string()),
    rate_limit: z.object({ produce_per_second: z.number().int().nullable(), receive_per_second: z.number().int().nullable() }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Key");

const CreatedKeySchema = KeySchema.extend({
  secret: z.string().openapi({
    description: "The bearer token: `Authorization: Bearer <secret>`. Shown only in this answer; Weir keeps only its hash.",
  }),
}).openapi("CreatedKey");

const KeyParams = z.object({
  id: z
    .string()
    .regex(/^[0-9A-Z]{16}$/, "must be a key id (16 characters of 0-9 A-Z)")
    .openapi({ param: { name: "id", in: "path" }, example: "7K3QW9ZB2M4XH1RT" }),
});

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
    return c.json({ ...keyView(key), secret: token }, 201);
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
