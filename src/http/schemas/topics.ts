// Topics and subscriptions. PUT bodies: a field left out keeps its current value, or its
// default (src/shared/defaults.ts) for a new resource.
import { z } from "@hono/zod-openapi";
import { SUBSCRIPTION_DEFAULTS as S, TOPIC_DEFAULTS as T } from "../../shared/defaults";
import * as L from "../../shared/limits";
import { TopicName, SubscriptionName, int } from "./common";

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

export const SurgeView = z.object({
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
