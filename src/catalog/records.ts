import type { SubscriptionMode } from "../shared/partition-api";

export type StartPosition = "earliest" | "latest";
export type ExpiredAction = "drop" | "dead_letter";
export type Overflow = "reject" | "drop_oldest";
export type Backoff = "fixed" | "exponential";

/** A topic's settings, as an admin sets them. Durations in seconds; null: no limit. */
export interface TopicSettings {
  partitions: number;
  dedupWindowSeconds: number;
  defaultDelaySeconds: number;
  retentionSeconds: number;
  messageTtlSeconds: number | null;
  expiredAction: ExpiredAction;
  maxMessages: number | null;
  maxBytes: number | null;
  overflow: Overflow;
}

export interface TopicRecord extends TopicSettings {
  name: string;
  /** Distinguishes this incarnation of the name; part of every partition's object name. */
  uid: string;
  createdAt: number;
  updatedAt: number;
}

/** A subscription's settings, as an admin sets them. Durations in seconds. */
export interface SubscriptionSettings {
  mode: SubscriptionMode;
  startPosition: StartPosition;
  visibilityTimeoutSeconds: number;
  maxDeliveries: number;
  /** null: the default dead-letter topic, `<topic>.dlq`. */
  deadLetterTopic: string | null;
  backoff: Backoff;
  backoffInitialSeconds: number;
  backoffMaxSeconds: number;
  /** 0..1: each delay is shortened by up to this fraction, at random. */
  backoffJitter: number;
  surgeEnabled: boolean;
  /** Surge when this many messages are ready across the topic's partitions; null: not by depth. */
  surgeTriggerDepth: number | null;
  /** Surge when the oldest unacked message is this old; null: not by age. */
  surgeTriggerAgeSeconds: number | null;
  /** Temporary partitions per source partition, 1..16. */
  surgeFactor: number;
  /** How long the trigger must stay clear, with the temporary partitions empty, to fold back. */
  surgeCooldownSeconds: number;
}

export type SurgeStatus = "off" | "active" | "draining";

/** The cron's record of a subscription's surge. Times in ms since the epoch. */
export interface SurgeState {
  surgeState: SurgeStatus;
  /** How many temporary partitions the subscription reads from (0 when off). */
  surgePartitions: number;
  surgeStartedAt: number | null;
  surgeCalmSince: number | null;
  /** Why a subscription over its trigger is not surged, if it is not. */
  surgeNote: string | null;
}

export interface SubscriptionRecord extends SubscriptionSettings, SurgeState {
  topic: string;
  name: string;
  uid: string;
  createdAt: number;
  updatedAt: number;
  /** The last seek: when (ms since epoch) and to where, as the request said it. */
  lastSeekAt: number | null;
  lastSeekTo: string | null;
}
