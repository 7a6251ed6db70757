import type { SubscriptionMode } from "../shared/partition-api";

export type StartPosition = "earliest" | "latest";

export interface TopicRecord {
  name: string;
  /** Distinguishes this incarnation of the name; part of every partition's object name. */
  uid: string;
  partitions: number;
  createdAt: number;
  updatedAt: number;
}

export interface SubscriptionRecord {
  topic: string;
  name: string;
  uid: string;
  mode: SubscriptionMode;
  startPosition: StartPosition;
  visibilityTimeoutSeconds: number;
  maxDeliveries: number;
  createdAt: number;
  updatedAt: number;
}

export type TopicSettings = Pick<TopicRecord, "partitions">;
export type SubscriptionSettings = Pick<
  SubscriptionRecord,
  "mode" | "startPosition" | "visibilityTimeoutSeconds" | "maxDeliveries"
>;
