import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { Doorbell } from "../doorbell/doorbell";
import type { Partition } from "../partition/partition";
import type { PartitionContext, SubscriptionSpec } from "../shared/partition-api";
import { SURGE_INDEX_BASE, surgePartitionName } from "../shared/partition-api";
import { Catalog } from "../catalog/catalog";
import { deadLetterTopicName, deadLetterTopicProblem, ensureDeadLetterTopic } from "../catalog/dead-letters";
import { ApiError } from "../http/errors";

/** A partition as the Worker sees it: its index in the topic and the stub to call. */
export interface PartitionHandle {
  index: number;
  stub: DurableObjectStub<Partition>;
}

/** The Durable Object name of a partition: unique per topic incarnation and index. */
export function partitionObjectName(topic: TopicRecord, index: number): string {
  return `${topic.uid}:${index}`;
}

export function partitionHandle(env: Env, topic: TopicRecord, index: number): PartitionHandle {
  const id = env.PARTITION.idFromName(partitionObjectName(topic, index));
  return { index, stub: env.PARTITION.get(id) };
}

/** Every partition of a topic, in index order. */
export function topicPartitions(env: Env, topic: TopicRecord): PartitionHandle[] {
  return Array.from({ length: topic.partitions }, (_, index) => partitionHandle(env, topic, index));
}

/** Temporary surge partition k of a subscription; it answers to index SURGE_INDEX_BASE + k. */
export function surgePartitionHandle(env: Env, topic: TopicRecord, subscription: SubscriptionRecord, k: number): PartitionHandle {
  const id = env.PARTITION.idFromName(surgePartitionName(topic.uid, subscription.uid, subscription.surgeStartedAt ?? 0, k));
  return { index: SURGE_INDEX_BASE + k, stub: env.PARTITION.get(id) };
}

export function surgePartitions(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): PartitionHandle[] {
  return Array.from({ length: subscription.surgePartitions }, (_, k) => surgePartitionHandle(env, topic, subscription, k));
}

/**
 * The partitions one subscription reads from: the topic's, and during a surge its temporary
 * ones. Computed per call from the (cached) catalog, so the set grows and shrinks at run time.
 */
export function subscriptionPartitions(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): PartitionHandle[] {
  return [...topicPartitions(env, topic), ...surgePartitions(env, topic, subscription)];
}

/**
 * The doorbell where a subscription's long polls wait (src/doorbell). A surge's start or end
 * names a new one: partition indices there mean other objects, which it knows nothing of.
 */
export function subscriptionDoorbell(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): DoorbellHandle {
  const name = `${topic.uid}:${subscription.uid}:${subscription.surgeStartedAt ?? 0}`;
  return { name, stub: env.DOORBELL.get(env.DOORBELL.idFromName(name)) };
}

export interface DoorbellHandle {
  name: string;
  stub: DurableObjectStub<Doorbell>;
}

/** The partition a receipt names, or null if the subscription has no such partition now. */
export function receiptPartition(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  index: number,
): PartitionHandle | null {
  if (index < topic.partitions) return partitionHandle(env, topic, index);
  const k = index - SURGE_INDEX_BASE;
  if (k >= 0 && k < subscription.surgePartitions) return surgePartitionHandle(env, topic, subscription, k);
  return null;
}

/**
 * What a partition needs to know of a subscription, with its dead-letter topic (created here
 * if it does not exist yet).
 */
export async function resolveSubscriptionSpec(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
): Promise<SubscriptionSpec> {
  const name = deadLetterTopicName(topic.name, subscription);
  const deadLetter = deadLetterTopicProblem(topic.name, name)
    ? null
    : await ensureDeadLetterTopic(new Catalog(env.CATALOG), name);
  return subscriptionSpec(subscription, deadLetter);
}

export function subscriptionSpec(subscription: SubscriptionRecord, deadLetter: TopicRecord | null): SubscriptionSpec {
  return {
    uid: subscription.uid,
    mode: subscription.mode,
    sinceMs: subscription.startPosition === "earliest" ? 0 : subscription.createdAt,
    policy: {
      subscription: subscription.name,
      maxDeliveries: subscription.maxDeliveries,
      backoff: subscription.backoff,
      backoffInitialMs: subscription.backoffInitialSeconds * 1000,
      backoffMaxMs: subscription.backoffMaxSeconds * 1000,
      backoffJitter: subscription.backoffJitter,
      deadLetter: deadLetter ? { topic: deadLetter.name, uid: deadLetter.uid, partitions: deadLetter.partitions } : null,
    },
  };
}

/** Who partition `index` of `topic` is and its topic's rules; limits are split per partition. */
export function partitionContext(topic: TopicRecord, index: number): PartitionContext {
  const perPartition = (limit: number | null) => (limit === null ? null : Math.ceil(limit / topic.partitions));
  return {
    topic: topic.name,
    topicUid: topic.uid,
    index,
    policy: {
      dedupWindowMs: topic.dedupWindowSeconds * 1000,
      retentionMs: topic.retentionSeconds * 1000,
      ttlMs: topic.messageTtlSeconds === null ? null : topic.messageTtlSeconds * 1000,
      expiredAction: topic.expiredAction,
      maxMessages: perPartition(topic.maxMessages),
      maxBytes: perPartition(topic.maxBytes),
      overflow: topic.overflow,
    },
  };
}

/**
 * Calls a partition and turns a failure of the platform (object overloaded, reset, network)
 * into a retryable 503: the client's input was fine.
 */
export async function callPartition<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(JSON.stringify({ event: "partition_call_failed", message }));
    throw new ApiError("unavailable", "a partition is unavailable; retry the request", undefined, 1);
  }
}
