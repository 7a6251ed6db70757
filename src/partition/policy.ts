import { TOPIC_DEFAULTS } from "../shared/defaults";
import type { DeliveryPolicy, NewMessage, TopicPolicy } from "../shared/partition-api";

/** The rules of a partition that has not been told its topic's yet. */
export const DEFAULT_TOPIC_POLICY: TopicPolicy = {
  dedupWindowMs: TOPIC_DEFAULTS.dedupWindowSeconds * 1000,
  retentionMs: TOPIC_DEFAULTS.retentionSeconds * 1000,
  ttlMs: TOPIC_DEFAULTS.messageTtlSeconds,
  expiredAction: TOPIC_DEFAULTS.expiredAction,
  maxMessages: TOPIC_DEFAULTS.maxMessages,
  maxBytes: TOPIC_DEFAULTS.maxBytes,
  overflow: TOPIC_DEFAULTS.overflow,
};

/**
 * How long a message waits before its next attempt, after attempt number `attempt` (1-based)
 * failed: `fixed` waits the initial delay every time, `exponential` doubles it per attempt up
 * to the cap. Jitter shortens each wait by up to that fraction, at random, so that consumers
 * that failed together do not retry together. Milliseconds.
 */
export function backoffMs(policy: DeliveryPolicy, attempt: number, random: () => number = Math.random): number {
  const base =
    policy.backoff === "fixed"
      ? policy.backoffInitialMs
      : policy.backoffInitialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  const capped = Math.min(base, policy.backoffMaxMs);
  return Math.round(capped * (1 - policy.backoffJitter * random()));
}

/** Header names a dead letter gains; documented in docs/semantics.md. */
export const DEAD_LETTER_HEADERS = {
  reason: "weir-dead-letter-reason",
  topic: "weir-source-topic",
  subscription: "weir-source-subscription",
  partition: "weir-source-partition",
  offset: "weir-source-offset",
  attempts: "weir-attempts",
  nackReason: "weir-nack-reason",
  at: "weir-dead-lettered-at",
} as const;

export type DeadLetterReason = "max_deliveries" | "rejected" | "expired" | "overflow";

/**
 * The key that deduplicates a dead letter in its topic and names its origin for a redrive.
 * `unique` tells apart two dead-letterings of one message (after a seek or a redrive); the
 * outbox keeps the key, so a repeated append of the same dead letter is still caught.
 */
export function deadLetterKey(topicUid: string, subscriptionUid: string, partition: number, offset: number, unique: string): string {
  return `dl:${topicUid}:${subscriptionUid}:${partition}:${offset}:${unique}`;
}

/** The prefix shared by the dead-letter keys of one subscription of one topic. */
export function deadLetterKeyPrefix(topicUid: string, subscriptionUid: string): string {
  return `dl:${topicUid}:${subscriptionUid}:`;
}

export function parseDeadLetterKey(key: string): { partition: number; offset: number } | null {
  const parts = key.split(":");
  if (parts.length !== 6 || parts[0] !== "dl") return null;
  const [partition, offset] = parts.slice(3, 5).map(Number);
  if (![partition, offset].every((n) => Number.isSafeInteger(n) && n! >= 0)) return null;
  return { partition: partition!, offset: offset! };
}

/** A message leaving a subscription as a dead letter: what the log and its delivery row held. */
export interface DeadLetterSource {
  /** Its offset here, and (in a temporary surge partition) where it was produced. */
  offset: number;
  originPartition: number | null;
  originOffset: number | null;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  priority: number;
  attempt: number;
  nackReason: string | null;
}

/** Who is dead-lettering: this partition's topic and index, the subscription. */
export interface DeadLetterContext {
  topic: string;
  topicUid: string;
  partition: number;
  subscriptionUid: string;
  /** The subscription's name, for the headers (its uid when unknown). */
  subscription: string;
  reason: DeadLetterReason;
  now: number;
  /** Tells two dead-letterings of one message apart (after a seek or a redrive). */
  unique: string;
}

/**
 * The dead letter of a message: body, key and headers as produced, plus headers naming where it
 * came from and why (DEAD_LETTER_HEADERS), deduplicated in its topic by deadLetterKey. Pure.
 */
export function deadLetterMessage(source: DeadLetterSource, context: DeadLetterContext): NewMessage {
  const headers: Record<string, string> = source.headers ? (JSON.parse(source.headers) as Record<string, string>) : {};
  // A message in a temporary surge partition is named by its place in the topic.
  const partition = source.originPartition ?? context.partition;
  const offset = source.originOffset ?? source.offset;
  headers[DEAD_LETTER_HEADERS.reason] = context.reason;
  headers[DEAD_LETTER_HEADERS.topic] = context.topic;
  headers[DEAD_LETTER_HEADERS.subscription] = context.subscription;
  headers[DEAD_LETTER_HEADERS.partition] = String(partition);
  headers[DEAD_LETTER_HEADERS.offset] = String(offset);
  headers[DEAD_LETTER_HEADERS.attempts] = String(source.attempt);
  if (source.nackReason !== null) headers[DEAD_LETTER_HEADERS.nackReason] = source.nackReason;
  headers[DEAD_LETTER_HEADERS.at] = new Date(context.now).toISOString();
  return {
    id: source.id,
    idFromProducer: false,
    key: source.key,
    headers: JSON.stringify(headers),
    body: source.body,
    priority: source.priority,
    delayMs: 0,
    ttlMs: null,
    dedupKey: deadLetterKey(context.topicUid, context.subscriptionUid, partition, offset, context.unique),
  };
}
