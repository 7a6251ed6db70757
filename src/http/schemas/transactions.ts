// Transactions: prepare, commit, roll back, look up (docs/transactions.md).
import { z } from "@hono/zod-openapi";
import { TRANSACTION_DEFAULTS } from "../../shared/defaults";
import * as L from "../../shared/limits";
import { int, TopicParams } from "./common";
import { MessageInput } from "./messages";

export const CheckInput = z
  .strictObject({
    url: z
      .string()
      .max(L.MAX_CHECK_URL_LENGTH)
      .refine((v) => /^https?:\/\//i.test(v), { message: "must be an http(s) URL" })
      .openapi({
        description: "Where Weir POSTs a signed check-back (https; loopback only in local development).",
        example: "https://shop.example.com/weir/check",
      }),
    max_checks: int()
      .min(L.MIN_TRANSACTION_CHECKS)
      .max(L.MAX_TRANSACTION_CHECKS)
      .optional()
      .openapi({ default: TRANSACTION_DEFAULTS.maxChecks, description: "Check-backs before rolling back (reason unresolved)." }),
    interval_seconds: int()
      .min(L.MIN_CHECK_INTERVAL_SECONDS)
      .max(L.MAX_CHECK_INTERVAL_SECONDS)
      .optional()
      .openapi({ default: TRANSACTION_DEFAULTS.checkIntervalSeconds, description: "Time between check-backs." }),
  })
  .openapi("TransactionCheck");

export const PrepareBody = z
  .strictObject({
    messages: z.array(MessageInput).min(1).max(L.MAX_MESSAGES_PER_PRODUCE),
    timeout_seconds: int()
      .min(L.MIN_TRANSACTION_TIMEOUT_SECONDS)
      .max(L.MAX_TRANSACTION_TIMEOUT_SECONDS)
      .optional()
      .openapi({
        default: TRANSACTION_DEFAULTS.timeoutSeconds,
        description: "Unresolved after this long: rolled back (reason timeout), or checked back when `check` is given.",
      }),
    check: CheckInput.optional(),
  })
  .openapi("PrepareTransactionRequest");

export const TransactionSchema = z
  .object({
    id: z.string().openapi({ example: "01JD3M6Z8Q4W2X7K9B5N1C0V3T-p0" }),
    topic: z.string(),
    state: z.enum(["prepared", "committed", "rolled_back"]),
    reason: z.enum(["client", "timeout", "unresolved"]).nullable().openapi({ description: "Why it was rolled back; null otherwise." }),
    created_at: z.string().openapi({ format: "date-time" }),
    expires_at: z.string().openapi({ format: "date-time" }),
    decided_at: z.string().nullable().openapi({ format: "date-time" }),
    checks: int().openapi({ description: "Check-backs sent so far." }),
    check: z
      .object({ url: z.string(), max_checks: int(), interval_seconds: int(), next_at: z.string().nullable() })
      .nullable(),
  })
  .openapi("Transaction");

export const PreparedResponse = z
  .object({ transaction: TransactionSchema, results: z.array(z.object({ id: z.string(), partition: int() })) })
  .openapi("PreparedTransaction");

export const DecidedResponse = z
  .object({
    transaction: TransactionSchema,
    results: z
      .array(z.object({ id: z.string(), partition: int(), offset: int(), duplicate: z.boolean() }))
      .optional()
      .openapi({ description: "Commit only: where each message was stored, in request order." }),
  })
  .openapi("DecidedTransaction");

export const TransactionParams = TopicParams.extend({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "01JD3M6Z8Q4W2X7K9B5N1C0V3T-p0" }),
});
