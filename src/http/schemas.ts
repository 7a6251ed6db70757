import { z } from "@hono/zod-openapi";
import * as L from "../shared/limits";

// Request and response schemas: they validate requests and are the OpenAPI document.

export const TopicName = z
  .string()
  .regex(L.NAME_PATTERN, "must be 1 to 128 characters of A-Z a-z 0-9 . _ -")
  .openapi({ example: "orders" });

export const SubscriptionName = TopicName.openapi({ example: "billing" });

export const TopicParams = z.object({ topic: TopicName.openapi({ param: { name: "topic", in: "path" } }) });
export const SubscriptionParams = TopicParams.extend({
  subscription: SubscriptionName.openapi({ param: { name: "subscription", in: "path" } }),
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string().openapi({ example: "messages[0].priority: must be at most 9" }),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

const int = () => z.number().int();

// --- topics and subscriptions ---

export const TopicSettingsBody = z
  .strictObject({
    partitions: int()
      .min(L.MIN_PARTITIONS)
      .max(L.MAX_PARTITIONS)
      .default(L.DEFAULT_PARTITIONS)
      .openapi({ description: "Number of partitions; can grow later, never shrink." }),
  })
  .openapi("TopicSettings");

export const TopicSchema = z
  .object({
    name: TopicName,
    partitions: int(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Topic");

export const TopicListSchema = z.object({ topics: z.array(TopicSchema) }).openapi("TopicList");

export const SubscriptionSettingsBody = z
  .strictObject({
    mode: z
      .enum(["shared", "ordered"])
      .default("shared")
      .openapi({ description: "shared: parallel, by priority; ordered: one message of a key at a time." }),
    start_position: z
      .enum(["earliest", "latest"])
      .default("latest")
      .openapi({ description: "Where a new subscription starts: the whole retained log, or new messages only." }),
    visibility_timeout_seconds: int()
      .min(L.MIN_VISIBILITY_TIMEOUT_SECONDS)
      .max(L.MAX_VISIBILITY_TIMEOUT_SECONDS)
      .default(L.DEFAULT_VISIBILITY_TIMEOUT_SECONDS),
    max_deliveries: int().min(L.MIN_MAX_DELIVERIES).max(L.MAX_MAX_DELIVERIES).default(L.DEFAULT_MAX_DELIVERIES),
  })
  .openapi("SubscriptionSettings");

export const SubscriptionSchema = z
  .object({
    topic: TopicName,
    name: SubscriptionName,
    mode: z.enum(["shared", "ordered"]),
    start_position: z.enum(["earliest", "latest"]),
    visibility_timeout_seconds: int(),
    max_deliveries: int(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Subscription");

export const SubscriptionListSchema = z
  .object({ subscriptions: z.array(SubscriptionSchema) })
  .openapi("SubscriptionList");

// --- produce ---

export const MessageInput = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(L.MAX_MESSAGE_ID_LENGTH)
      .optional()
      .openapi({ description: "Idempotency id; repeats within 24 hours are stored once." }),
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
    delay_seconds: int().min(0).max(L.MAX_DELAY_SECONDS).optional(),
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

// --- consume ---

export const ReceiveBody = z
  .strictObject({
    max_messages: int().min(1).max(L.MAX_RECEIVE_MESSAGES).default(L.DEFAULT_RECEIVE_MESSAGES),
    wait_seconds: z.number().min(0).max(L.MAX_WAIT_SECONDS).default(L.DEFAULT_WAIT_SECONDS),
    visibility_timeout_seconds: int()
      .min(L.MIN_VISIBILITY_TIMEOUT_SECONDS)
      .max(L.MAX_VISIBILITY_TIMEOUT_SECONDS)
      .optional()
      .openapi({ description: "Defaults to the subscription's." }),
  })
  .openapi("ReceiveRequest");

export const DeliveredMessage = z
  .object({
    id: z.string(),
    key: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    body: z.unknown(),
    priority: int(),
    partition: int(),
    offset: int(),
    produced_at: z.string().openapi({ format: "date-time" }),
    attempt: int().openapi({ description: "1 on the first delivery" }),
    receipt: z.string(),
  })
  .openapi("DeliveredMessage");

export const ReceiveResponse = z.object({ messages: z.array(DeliveredMessage) }).openapi("ReceiveResponse");

const Receipts = z.array(z.string().min(1).max(512)).min(1).max(L.MAX_RECEIPTS_PER_REQUEST);

export const AckBody = z.strictObject({ receipts: Receipts }).openapi("AckRequest");
export const NackBody = z
  .strictObject({ receipts: Receipts, delay_seconds: int().min(0).max(L.MAX_DELAY_SECONDS).default(0) })
  .openapi("NackRequest");
export const ExtendBody = z
  .strictObject({
    receipts: Receipts,
    visibility_timeout_seconds: int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS),
  })
  .openapi("ExtendRequest");

export const ReceiptResults = z
  .object({
    results: z.array(
      z.union([
        z.object({ receipt: z.string(), ok: z.literal(true) }),
        z.object({
          receipt: z.string(),
          ok: z.literal(false),
          error: z.object({ code: z.string(), message: z.string() }),
        }),
      ]),
    ),
  })
  .openapi("ReceiptResults");

// --- stats ---

const Counts = {
  ready: int(),
  delayed: int(),
  in_flight: int(),
};

export const StatsResponse = z
  .object({
    topic: TopicName,
    partitions: z.array(
      z.object({ partition: int(), next_offset: int(), first_offset: int().nullable(), messages: int(), bytes: int() }),
    ),
    subscriptions: z.array(
      z.object({
        name: SubscriptionName,
        mode: z.enum(["shared", "ordered"]),
        ...Counts,
        oldest_unacked_age_seconds: z.number().nullable(),
        partitions: z.array(z.object({ partition: int(), ...Counts })),
      }),
    ),
  })
  .openapi("Stats");
