import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { Partition } from "../partition/partition";
import type { SubscriptionSpec } from "../shared/partition-api";
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

/**
 * The partitions one subscription reads from. Today that is the topic's partitions; the set is
 * computed per call so that it can grow and shrink at run time (temporary surge partitions).
 */
export function subscriptionPartitions(
  env: Env,
  topic: TopicRecord,
  _subscription: SubscriptionRecord,
): PartitionHandle[] {
  return topicPartitions(env, topic);
}

export function subscriptionSpec(subscription: SubscriptionRecord): SubscriptionSpec {
  return {
    uid: subscription.uid,
    mode: subscription.mode,
    sinceMs: subscription.startPosition === "earliest" ? 0 : subscription.createdAt,
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
