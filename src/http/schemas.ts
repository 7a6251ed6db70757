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

// PUT bodies: a field left out keeps its current value, or its default for a new resource.

export const TopicSettingsBody = z
  .strictObject({
    partitions: int()
      .min(L.MIN_PARTITIONS)
      .max(L.MAX_PARTITIONS)
      .optional()
      .openapi({ default: L.DEFAULT_PARTITIONS, description: "Number of partitions; can grow later, never shrink." }),
    dedup_window_seconds: int()
      .min(0)
      .max(L.MAX_RETENTION_SECONDS)
      .optional()
      .openapi({
        default: L.DEFAULT_DEDUP_WINDOW_SECONDS,
        description: "A producer-chosen message id seen within this window is stored once. At most the retention.",
      }),
    default_delay_seconds: int()
      .min(0)
      .max(L.MAX_DELAY_SECONDS)
      .optional()
      .openapi({ default: 0, description: "Delay for messages that set neither delay_seconds nor deliver_at." }),
  })
  .openapi("TopicSettings");

export const TopicSchema = z
  .object({
    name: TopicName,
    partitions: int(),
    dedup_window_seconds: int(),
    default_delay_seconds: int(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Topic");

export const TopicListSchema = z.object({ topics: z.array(TopicSchema) }).openapi("TopicList");

export const SubscriptionSettingsBody = z
  .strictObject({
    mode: z.enum(["shared", "ordered"]).optional().openapi({
      default: "shared",
      description: "shared: parallel, by priority; ordered: one message of a key at a time. Fixed at creation.",
    }),
    start_position: z.enum(["earliest", "latest"]).optional().openapi({
      default: "latest",
      description: "Where a new subscription starts: the whole retained log, or new messages only. Fixed at creation.",
    }),
    visibility_timeout_seconds: int()
      .min(L.MIN_VISIBILITY_TIMEOUT_SECONDS)
      .max(L.MAX_VISIBILITY_TIMEOUT_SECONDS)
      .optional()
      .openapi({ default: L.DEFAULT_VISIBILITY_TIMEOUT_SECONDS }),
    max_deliveries: int()
      .min(L.MIN_MAX_DELIVERIES)
      .max(L.MAX_MAX_DELIVERIES)
      .optional()
      .openapi({ default: L.DEFAULT_MAX_DELIVERIES }),
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
    last_seek: z.object({ at: z.string(), to: z.string() }).nullable(),
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
    filter: z
      .strictObject({
        headers: z
          .record(z.string().min(1).max(L.MAX_HEADER_NAME_LENGTH), z.string().max(L.MAX_HEADER_VALUE_LENGTH))
          .refine((h) => Object.keys(h).length >= 1 && Object.keys(h).length <= L.MAX_HEADER_FILTERS, {
            message: `give 1 to ${L.MAX_HEADER_FILTERS} headers`,
          }),
      })
      .optional()
      .openapi({
        description:
          "Lease only messages whose headers have all these values; the others stay deliverable to the subscription's other consumers.",
        example: { headers: { version: "2" } },
      }),
  })
  .openapi("ReceiveRequest");

export const SeekBody = z
  .strictObject({
    to: z.union([
      z.enum(["earliest", "latest"]),
      z.iso.datetime({ offset: true }).openapi({ description: "the first message produced at or after this time" }),
      z
        .record(z.string().regex(/^(0|[1-9][0-9]{0,2})$/, "must be a partition number"), int().min(0))
        .refine((m) => Object.keys(m).length > 0, { message: "name at least one partition" })
        .openapi({ description: "partition → offset; partitions left out keep their position", example: { "0": 120, "3": 0 } }),
    ]),
  })
  .openapi("SeekRequest");

export const SeekResponse = z
  .object({ partitions: z.array(z.object({ partition: int(), offset: int() })) })
  .openapi("SeekResponse");

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
        last_seek: z.object({ at: z.string(), to: z.string() }).nullable(),
        partitions: z.array(z.object({ partition: int(), ...Counts })),
      }),
    ),
  })
  .openapi("Stats");
