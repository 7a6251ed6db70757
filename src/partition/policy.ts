import type { DeliveryPolicy, TopicPolicy } from "../shared/partition-api";

/** The rules of a partition that has not been told its topic's yet. */
export const DEFAULT_TOPIC_POLICY: TopicPolicy = {
  dedupWindowMs: 24 * 3600 * 1000,
  retentionMs: 4 * 24 * 3600 * 1000,
  ttlMs: null,
  expiredAction: "drop",
  maxMessages: null,
  maxBytes: null,
  overflow: "reject",
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
