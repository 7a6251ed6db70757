import { z } from "@hono/zod-openapi";
import { SUBSCRIPTION_DEFAULTS as S, TOPIC_DEFAULTS as T } from "../shared/defaults";
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
      .openapi({ default: T.partitions, description: "Number of partitions; can grow later, never shrink." }),
    dedup_window_seconds: int()
      .min(0)
      .max(L.MAX_RETENTION_SECONDS)
      .optional()
      .openapi({
        default: T.dedupWindowSeconds,
        description: "A producer-chosen message id seen within this window is stored once. At most the retention.",
      }),
    default_delay_seconds: int()
      .min(0)
      .max(L.MAX_DELAY_SECONDS)
      .optional()
      .openapi({ default: T.defaultDelaySeconds, description: "Delay for messages that set neither delay_seconds nor deliver_at." }),
    retention_seconds: int()
      .min(L.MIN_RETENTION_SECONDS)
      .max(L.MAX_RETENTION_SECONDS)
      .optional()
      .openapi({
        default: T.retentionSeconds,
        description: "How long acked messages stay in the log for replay. Unacked ones stay until acked or expired.",
      }),
    message_ttl_seconds: int()
      .min(1)
      .max(L.MAX_DELAY_SECONDS)
      .nullable()
      .optional()
      .openapi({ default: T.messageTtlSeconds, description: "Messages not delivered within this time expire; null: never." }),
    expired_action: z
      .enum(["drop", "dead_letter"])
      .optional()
      .openapi({ default: T.expiredAction, description: "What happens to an expired message." }),
    max_messages: int()
      .min(1)
      .nullable()
      .optional()
      .openapi({ default: T.maxMessages, description: "Backlog limit in messages, split evenly over the partitions; null: none." }),
    max_bytes: int()
      .min(1)
      .nullable()
      .optional()
      .openapi({ default: T.maxBytes, description: "Backlog limit in bytes (UTF-8, as stored: body, headers, key and id), split evenly over the partitions; null: none." }),
    overflow: z.enum(["reject", "drop_oldest"]).optional().openapi({
      default: T.overflow,
      description: "At the limit: refuse produce with 429 topic_full, or dead-letter the oldest messages (reason overflow).",
    }),
  })
  .openapi("TopicSettings");

export const TopicSchema = z
  .object({
    name: TopicName,
    partitions: int(),
    dedup_window_seconds: int(),
    default_delay_seconds: int(),
    retention_seconds: int(),
    message_ttl_seconds: int().nullable(),
    expired_action: z.enum(["drop", "dead_letter"]),
    max_messages: int().nullable(),
    max_bytes: int().nullable(),
    overflow: z.enum(["reject", "drop_oldest"]),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Topic");

export const TopicListSchema = z.object({ topics: z.array(TopicSchema) }).openapi("TopicList");

export const RetryBackoff = z
  .strictObject({
    kind: z.enum(["fixed", "exponential"]).optional().openapi({ default: S.backoff }),
    initial_seconds: int().min(0).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional().openapi({ default: S.backoffInitialSeconds }),
    max_seconds: int().min(0).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional().openapi({ default: S.backoffMaxSeconds }),
    jitter: z.number().min(0).max(1).optional().openapi({ default: S.backoffJitter }),
  })
  .openapi("RetryBackoff", {
    description:
      "Wait before attempt n+1: fixed: initial_seconds; exponential: initial_seconds × 2^(n-1), at most max_seconds. " +
      "Jitter shortens each wait by up to that fraction, at random. initial_seconds 0 (the default): no wait.",
  });

export const SurgeSettings = z
  .strictObject({
    enabled: z.boolean().optional().openapi({ default: S.surgeEnabled }),
    trigger_depth: int()
      .min(1)
      .nullable()
      .optional()
      .openapi({ default: S.surgeTriggerDepth, description: "Surge when this many messages are ready; null: not by depth." }),
    trigger_age_seconds: int()
      .min(1)
      .nullable()
      .optional()
      .openapi({ default: S.surgeTriggerAgeSeconds, description: "Surge when the oldest unacked message is this old; null: not by age." }),
    factor: int().min(1).max(L.MAX_SURGE_FACTOR).optional().openapi({ default: S.surgeFactor, description: "Temporary partitions per topic partition." }),
    cooldown_seconds: int()
      .min(0)
      .max(L.MAX_VISIBILITY_TIMEOUT_SECONDS)
      .optional()
      .openapi({ default: S.surgeCooldownSeconds, description: "How long the trigger must stay clear before folding back." }),
  })
  .openapi("SurgeSettings", {
    description:
      "Backlog surge (shared subscriptions): the cron spreads a backlog over temporary partitions and folds back when drained. See docs/surge.md.",
  });

export const SubscriptionSettingsBody = z
  .strictObject({
    mode: z.enum(["shared", "ordered"]).optional().openapi({
      default: S.mode,
      description: "shared: parallel, by priority; ordered: one message of a key at a time. Fixed at creation.",
    }),
    start_position: z.enum(["earliest", "latest"]).optional().openapi({
      default: S.startPosition,
      description: "Where a new subscription starts: the whole retained log, or new messages only. Fixed at creation.",
    }),
    visibility_timeout_seconds: int()
      .min(L.MIN_VISIBILITY_TIMEOUT_SECONDS)
      .max(L.MAX_VISIBILITY_TIMEOUT_SECONDS)
      .optional()
      .openapi({ default: S.visibilityTimeoutSeconds }),
    max_deliveries: int()
      .min(L.MIN_MAX_DELIVERIES)
      .max(L.MAX_MAX_DELIVERIES)
      .optional()
      .openapi({ default: S.maxDeliveries, description: "After this many attempts a message is dead-lettered." }),
    dead_letter_topic: TopicName.nullable()
      .optional()
      .openapi({ default: S.deadLetterTopic, description: "Where dead letters go; null: <topic>.dlq. Created if missing." }),
    retry_backoff: RetryBackoff.optional(),
    surge: SurgeSettings.optional(),
  })
  .openapi("SubscriptionSettings");

const SurgeView = z.object({
  enabled: z.boolean(),
  trigger_depth: int().nullable(),
  trigger_age_seconds: int().nullable(),
  factor: int(),
  cooldown_seconds: int(),
  state: z.enum(["off", "active", "draining"]),
  partitions: int().openapi({ description: "Temporary partitions now read from" }),
  started_at: z.string().nullable(),
  note: z.string().nullable().openapi({ description: "Why the subscription is not surged although over its trigger" }),
});

export const SubscriptionSchema = z
  .object({
    topic: TopicName,
    name: SubscriptionName,
    mode: z.enum(["shared", "ordered"]),
    start_position: z.enum(["earliest", "latest"]),
    visibility_timeout_seconds: int(),
    max_deliveries: int(),
    dead_letter_topic: TopicName,
    retry_backoff: z.object({
      kind: z.enum(["fixed", "exponential"]),
      initial_seconds: int(),
      max_seconds: int(),
      jitter: z.number(),
    }),
    last_seek: z.object({ at: z.string(), to: z.string() }).nullable(),
    surge: SurgeView,
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

// --- consume ---

/** What a receive and a stream lease with: how long, and which messages. */
const leaseOptions = {
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
};

export const ReceiveBody = z
  .strictObject({
    max_messages: int().min(1).max(L.MAX_RECEIVE_MESSAGES).default(L.DEFAULT_RECEIVE_MESSAGES),
    wait_seconds: z.number().min(0).max(L.MAX_WAIT_SECONDS).default(L.DEFAULT_WAIT_SECONDS),
    ...leaseOptions,
    ack: z
      .array(z.string().min(1).max(L.MAX_RECEIPT_LENGTH))
      .max(L.MAX_RECEIPTS_PER_REQUEST)
      .optional()
      .openapi({
        description:
          "Receipts to acknowledge before leasing, as POST ack would: a consumer that acks its last batch with its next " +
          "receive saves a request per batch. Their results come back in `acked`, in order.",
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

const Receipts = z.array(z.string().min(1).max(L.MAX_RECEIPT_LENGTH)).min(1).max(L.MAX_RECEIPTS_PER_REQUEST);

const ReceiptResult = z.union([
  z.object({ receipt: z.string(), ok: z.literal(true) }),
  z.object({
    receipt: z.string(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);

export const ReceiveResponse = z
  .object({
    messages: z.array(DeliveredMessage),
    acked: z
      .array(ReceiptResult)
      .optional()
      .openapi({ description: "With `ack` in the request: one result per receipt, in request order, as POST ack answers." }),
  })
  .openapi("ReceiveResponse");

export const StreamBody = z
  .strictObject({
    max_messages: int()
      .min(1)
      .max(L.MAX_STREAM_MESSAGES)
      .default(L.DEFAULT_STREAM_MESSAGES)
      .openapi({ description: "The stream ends once it has delivered this many messages." }),
    wait_seconds: z
      .number()
      .min(0)
      .max(L.MAX_STREAM_SECONDS)
      .default(L.DEFAULT_STREAM_SECONDS)
      .openapi({ description: "The stream ends after this long. 0 makes one pass: at most one line of what is deliverable now." }),
    heartbeat_seconds: z
      .number()
      .min(1)
      .max(L.MAX_STREAM_HEARTBEAT_SECONDS)
      .default(L.DEFAULT_STREAM_HEARTBEAT_SECONDS)
      .openapi({ description: "After this long without messages the stream writes an empty line, so that idle connections stay open." }),
    ...leaseOptions,
  })
  .openapi("StreamRequest");

export const StreamLine = z
  .union([
    z.object({ messages: z.array(DeliveredMessage) }).openapi({
      description: `Messages as they arrive, at most ${L.STREAM_LINE_MESSAGES} a line; an empty list is a heartbeat, sent after heartbeat_seconds without messages.`,
    }),
    z
      .object({
        end: z.enum(["max_messages", "wait_seconds"]),
        partition_calls: int().openapi({ description: "Calls the stream made to partition objects" }),
        doorbell_calls: int().openapi({ description: "Calls the stream made to its subscription's doorbell" }),
      })
      .openapi({ description: "The last line of a stream that ended normally: why, and what it cost." }),
    z
      .object({ error: z.object({ code: z.string(), message: z.string() }) })
      .openapi({ description: "The last line of a stream that failed after it started (e.g. `unavailable`): open a new one." }),
  ])
  .openapi("StreamLine");

export const AckBody = z.strictObject({ receipts: Receipts }).openapi("AckRequest");
export const NackBody = z
  .strictObject({
    receipts: Receipts,
    delay_seconds: int()
      .min(0)
      .max(L.MAX_DELAY_SECONDS)
      .optional()
      .openapi({ description: "Wait before the next attempt; default: the subscription's retry back-off." }),
    dead_letter: z
      .boolean()
      .optional()
      .openapi({ default: false, description: "Dead-letter at once (reason rejected) instead of trying again." }),
    reason: z
      .string()
      .max(L.MAX_HEADER_VALUE_LENGTH)
      .optional()
      .openapi({ description: "Why; a dead letter carries the last one in weir-nack-reason." }),
  })
  .openapi("NackRequest");

export const RedriveBody = z
  .strictObject({
    max: int().min(1).max(L.MAX_REDRIVE_MESSAGES).optional().openapi({ description: "At most this many; default: all." }),
    reason: z
      .enum(["max_deliveries", "rejected", "expired", "overflow"])
      .optional()
      .openapi({ description: "Only dead letters with this reason." }),
  })
  .openapi("RedriveRequest");

export const RedriveResponse = z
  .object({
    moved: int().openapi({ description: "Dead letters the subscription will receive again" }),
    missing: int().openapi({ description: "Dead letters whose message is past the source's retention; they stay" }),
  })
  .openapi("RedriveResponse");
export const ExtendBody = z
  .strictObject({
    receipts: Receipts,
    visibility_timeout_seconds: int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS),
  })
  .openapi("ExtendRequest");

export const ReceiptResults = z.object({ results: z.array(ReceiptResult) }).openapi("ReceiptResults");

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
        dead_letters_pending: int().openapi({ description: "Dead letters on their way to the dead-letter topic" }),
        surge: SurgeView.extend({
          temporary: z.array(z.object({ partition: int(), ready: int(), delayed: int(), in_flight: int() })),
        }),
        last_seek: z.object({ at: z.string(), to: z.string() }).nullable(),
        partitions: z.array(z.object({ partition: int(), ...Counts })),
      }),
    ),
  })
  .openapi("Stats");
