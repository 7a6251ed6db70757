// The one source of every default setting: the catalog (new topics and subscriptions), the
// API's OpenAPI document (http/schemas) and a partition not yet told its topic's rules
// (partition/policy.ts) all derive from these. The D1 migrations spell some of them as column
// defaults for rows that predate a setting; test/catalog/defaults.test.ts keeps those equal.
import * as L from "./limits";

/** What a new topic gets for every setting its creator left out. Durations in seconds. */
export const TOPIC_DEFAULTS = {
  partitions: L.DEFAULT_PARTITIONS,
  dedupWindowSeconds: L.DEFAULT_DEDUP_WINDOW_SECONDS,
  defaultDelaySeconds: 0,
  retentionSeconds: L.DEFAULT_RETENTION_SECONDS,
  messageTtlSeconds: null,
  expiredAction: "drop",
  maxMessages: null,
  maxBytes: null,
  overflow: "reject",
} as const;

/** What a new subscription gets for every setting its creator left out. Durations in seconds. */
export const SUBSCRIPTION_DEFAULTS = {
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
} as const;

/** What an SQS queue (src/sqs) has for the attributes no topic or subscription setting holds. */
export const SQS_QUEUE_DEFAULTS = {
  receiveWaitSeconds: 0,
  contentBasedDeduplication: false,
} as const;

/** What a transaction gets for every setting its producer left out (SPEC: 60 s, 15 checks, 60 s). */
export const TRANSACTION_DEFAULTS = {
  timeoutSeconds: 60,
  maxChecks: 15,
  checkIntervalSeconds: 60,
} as const;
