// Records as the API shows them: snake_case names, ISO times.
import { deadLetterTopicName } from "../catalog/dead-letters";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";

let lastIso: { ms: number; text: string } | null = null;

/** ISO-8601 of a time in ms; the last answer is kept (a batch's messages share their time). */
export function iso(ms: number): string {
  if (lastIso?.ms !== ms) lastIso = { ms, text: new Date(ms).toISOString() };
  return lastIso.text;
}

export function topicView(t: TopicRecord) {
  return {
    name: t.name,
    partitions: t.partitions,
    dedup_window_seconds: t.dedupWindowSeconds,
    default_delay_seconds: t.defaultDelaySeconds,
    retention_seconds: t.retentionSeconds,
    message_ttl_seconds: t.messageTtlSeconds,
    expired_action: t.expiredAction,
    max_messages: t.maxMessages,
    max_bytes: t.maxBytes,
    overflow: t.overflow,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
}

export function subscriptionView(s: SubscriptionRecord) {
  return {
    topic: s.topic,
    name: s.name,
    mode: s.mode,
    start_position: s.startPosition,
    visibility_timeout_seconds: s.visibilityTimeoutSeconds,
    max_deliveries: s.maxDeliveries,
    dead_letter_topic: deadLetterTopicName(s.topic, s),
    retry_backoff: {
      kind: s.backoff,
      initial_seconds: s.backoffInitialSeconds,
      max_seconds: s.backoffMaxSeconds,
      jitter: s.backoffJitter,
    },
    last_seek: s.lastSeekAt === null ? null : { at: iso(s.lastSeekAt), to: s.lastSeekTo ?? "" },
    surge: {
      enabled: s.surgeEnabled,
      trigger_depth: s.surgeTriggerDepth,
      trigger_age_seconds: s.surgeTriggerAgeSeconds,
      factor: s.surgeFactor,
      cooldown_seconds: s.surgeCooldownSeconds,
      state: s.surgeState,
      partitions: s.surgePartitions,
      started_at: s.surgeStartedAt === null ? null : iso(s.surgeStartedAt),
      note: s.surgeNote,
    },
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}
