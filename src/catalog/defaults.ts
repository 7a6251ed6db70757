import * as L from "../shared/limits";
import type { SubscriptionSettings, TopicSettings } from "./records";

/** What a new topic gets for every setting its creator left out. */
export const TOPIC_DEFAULTS: TopicSettings = {
  partitions: L.DEFAULT_PARTITIONS,
  dedupWindowSeconds: L.DEFAULT_DEDUP_WINDOW_SECONDS,
  defaultDelaySeconds: 0,
  retentionSeconds: L.DEFAULT_RETENTION_SECONDS,
  messageTtlSeconds: null,
  expiredAction: "drop",
  maxMessages: null,
  maxBytes: null,
  overflow: "reject",
};

/** What a new subscription gets for every setting its creator left out. */
export const SUBSCRIPTION_DEFAULTS: SubscriptionSettings = {
  mode: "shared",
  startPosition: "latest",
  visibilityTimeoutSeconds: L.DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
  maxDeliveries: L.DEFAULT_MAX_DELIVERIES,
  deadLetterTopic: null,
  backoff: "exponential",
  backoffInitialSeconds: 0,
  backoffMaxSeconds: 300,
  backoffJitter: 0.1,
  surgeEnabled: false,
  surgeTriggerDepth: 10_000,
  surgeTriggerAgeSeconds: null,
  surgeFactor: 4,
  surgeCooldownSeconds: 60,
};
