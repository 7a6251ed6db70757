// Produce and cancel.
import { z } from "@hono/zod-openapi";
import * as L from "../../shared/limits";
import { int, TopicParams } from "./common";

export const MessageInput = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(L.MAX_MESSAGE_ID_LENGTH)
      .optional()
      .openapi({ description: "Idempotency id; a repeat within the topic's dedup window (24 h) is stored once." }),
    key: z
      .string()
      .min(1)
      .max(L.MAX_KEY_LENGTH)
      .optional()
      .openapi({ description: "Routes the message to a partition and orders it in ordered subscriptions." }),
    headers: z
      .record(z.string().min(1).max(L.MAX_HEADER_NAME_LENGTH), z.string().max(L.MAX_HEADER_VALUE_LENGTH))
      .refine((h) => Object.keys(h).length <= L.MAX_HEADERS_PER_MESSAGE, {
        message: `at most ${L.MAX_HEADERS_PER_MESSAGE} headers`,
      })
      .optional(),
    body: z.unknown().openapi({ description: "Any JSON value, up to 1 MiB serialized." }),
    priority: int().min(L.MIN_PRIORITY).max(L.MAX_PRIORITY).optional().openapi({ description: "0..9, higher first" }),
    delay_seconds: int()
      .min(0)
      .max(L.MAX_DELAY_SECONDS)
      .optional()
      .openapi({ description: "Not deliverable before this many seconds from now. Default: the topic's default delay." }),
    deliver_at: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "Not deliverable before this time (RFC 3339, up to 365 days ahead). Excludes delay_seconds." }),
    ttl_seconds: int()
      .min(1)
      .max(L.MAX_DELAY_SECONDS)
      .optional()
      .openapi({ description: "Expires if not delivered within this time. Default: the topic's message_ttl_seconds." }),
  })
  .openapi("MessageInput");

export const ProduceBody = z
  .strictObject({ messages: z.array(MessageInput).min(1).max(L.MAX_MESSAGES_PER_PRODUCE) })
  .openapi("ProduceRequest");

export const ProduceResponse = z
  .object({
    results: z.array(
      z.object({ id: z.string(), partition: int(), offset: int(), duplicate: z.boolean() }),
    ),
  })
  .openapi("ProduceResponse");

export const MessageParams = TopicParams.extend({
  id: z
    .string()
    .min(1)
    .max(L.MAX_MESSAGE_ID_LENGTH)
    .openapi({ param: { name: "id", in: "path" }, example: "order-1" }),
});

/** GET …/messages/{id}: where to look. */
export const TraceQuery = z.object({
  key: z
    .string()
    .min(1)
    .max(L.MAX_KEY_LENGTH)
    .optional()
    .openapi({ description: "The message's key: only its partition is asked" }),
  partition: z.coerce
    .number()
    .int()
    .min(0)
    .max(L.MAX_PARTITIONS - 1)
    .optional()
    .openapi({ description: "The partition to ask first (from the produce answer)" }),
});

const TRACE_EVENTS = [
  "prepared",
  "committed",
  "rolled_back",
  "produced",
  "leased",
  "extended",
  "nacked",
  "lease_expired",
  "acked",
  "dead_lettered",
  "redriven",
  "moved",
  "cancelled",
  "expired",
] as const;

export const TraceResponse = z
  .object({
    message: z.object({
      id: z.string(),
      key: z.string().nullable(),
      headers: z.record(z.string(), z.string()),
      body: z.unknown(),
      partition: z.number().int(),
      offset: z.number().int().nullable().openapi({ description: "null while prepared in a transaction, and after a rollback" }),
      produced_at: z
        .string()
        .openapi({ format: "date-time", description: "when it was appended; for a prepared or rolled-back message, when it was prepared" }),
      state: z.enum(["prepared", "scheduled", "stored", "cancelled", "expired", "rolled_back"]),
      transaction_id: z.string().optional().openapi({ description: "the transaction that prepared it, if one did" }),
    }),
    subscriptions: z.array(
      z.object({
        name: z.string(),
        state: z.enum(["delayed", "ready", "leased", "acked", "dead_lettered", "expired"]),
        attempts: z.number().int(),
      }),
    ),
    trace: z.array(
      z.object({
        at: z
          .string()
          .nullable()
          .openapi({ format: "date-time", description: "null for an event whose time storage does not keep (a lease's start, an ack)" }),
        event: z.enum(TRACE_EVENTS),
        subscription: z.string().optional(),
        attempt: z.number().int().optional(),
        detail: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
      }),
    ),
  })
  .openapi("MessageTrace");
