// API keys.
import { z } from "@hono/zod-openapi";
import { MAX_KEY_NAME_LENGTH, MAX_RATE_PER_SECOND, MAX_SCOPES_PER_KEY } from "../../shared/limits";
import { MAX_SCOPE_LENGTH, parseScope } from "../../shared/scopes";

const ScopeText = z
  .string()
  .max(MAX_SCOPE_LENGTH + "produce:".length)
  .superRefine((text, ctx) => {
    const scope = parseScope(text);
    if ("problem" in scope) ctx.addIssue({ code: "custom", message: scope.problem });
  })
  .openapi({
    description:
      "admin, metrics (GET /metrics only), produce:<topic pattern> or consume:<topic pattern>. A pattern's segments (split at dots) are literal, " +
      "* (exactly one segment) or ** (last only: one or more segments). See docs/security.md.",
    example: "consume:orders.*",
  });

const PerSecond = z.number().int().min(1).max(MAX_RATE_PER_SECOND).nullable().optional();

export const CreateKeyBody = z
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

export const KeySchema = z
  .object({
    id: z.string().openapi({ example: "7K3QW9ZB2M4XH1RT" }),
    name: z.string(),
    scopes: z.array(z.string()),
    rate_limit: z.object({ produce_per_second: z.number().int().nullable(), receive_per_second: z.number().int().nullable() }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Key");

export const CreatedKeySchema = KeySchema.extend({
  secret: z.string().openapi({
    description: "The bearer token: `Authorization: Bearer <secret>`. Shown only in this answer; Weir keeps only its hash.",
  }),
  sqs: z
    .object({
      access_key_id: z.string().openapi({ example: "7K3QW9ZB2M4XH1RT" }),
      secret_access_key: z.string(),
    })
    .openapi({
      description:
        "AWS credentials for the SQS-compatible endpoint (docs/sqs.md), with this key's scopes. Shown only in this " +
        "answer; Weir stores nothing of the secret and derives it from a server secret when it checks a signature.",
    }),
}).openapi("CreatedKey");

export const KeyParams = z.object({
  id: z
    .string()
    .regex(/^[0-9A-Z]{16}$/, "must be a key id (16 characters of 0-9 A-Z)")
    .openapi({ param: { name: "id", in: "path" }, example: "7K3QW9ZB2M4XH1RT" }),
});
