// Addressing: which Durable Object serves which partition, surge partition or doorbell.
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { Doorbell } from "../doorbell/doorbell";
import type { Partition } from "../partition/partition";
import { doorbellName, partitionName, SURGE_INDEX_BASE, surgePartitionName } from "../shared/object-names";

/** A partition as the Worker sees it: its index in the topic and the stub to call. */
export interface PartitionHandle {
  index: number;
  stub: DurableObjectStub<Partition>;
  /** Forgets the stub, so that the next use makes a fresh one: after a failed call, which may leave it broken. */
  renew?: () => void;
}

export interface DoorbellHandle {
  name: string;
  stub: DurableObjectStub<Doorbell>;
}

export function partitionHandle(env: Env, topic: TopicRecord, index: number): PartitionHandle {
  return lazyHandle(index, () => env.PARTITION.get(env.PARTITION.idFromName(partitionName(topic.uid, index))));
}

/**
 * A handle whose stub is made when first used: a receive holds a handle for every partition
 * but, starting at the doorbell, calls one (an id is a hash of the name, made per request).
 */
function lazyHandle(index: number, make: () => DurableObjectStub<Partition>): PartitionHandle {
  let stub: DurableObjectStub<Partition> | null = null;
  return {
    index,
    get stub() {
      return (stub ??= make());
    },
    renew: () => {
      stub = null;
    },
  };
}

/** Every partition of a topic, in index order. */
export function topicPartitions(env: Env, topic: TopicRecord): PartitionHandle[] {
  return Array.from({ length: topic.partitions }, (_, index) => partitionHandle(env, topic, index));
}

/** Temporary surge partition k of a subscription; it answers to index SURGE_INDEX_BASE + k. */
export function surgePartitionHandle(env: Env, topic: TopicRecord, subscription: SubscriptionRecord, k: number): PartitionHandle {
  const name = surgePartitionName(topic.uid, subscription.uid, subscription.surgeStartedAt ?? 0, k);
  return lazyHandle(SURGE_INDEX_BASE + k, () => env.PARTITION.get(env.PARTITION.idFromName(name)));
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

/** The doorbell where a subscription's long polls wait (src/doorbell). */
export function subscriptionDoorbell(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): DoorbellHandle {
  const name = doorbellName(topic.uid, subscription.uid, subscription.surgeStartedAt);
  return { name, stub: env.DOORBELL.get(env.DOORBELL.idFromName(name)) };
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

/** Items grouped by a key, each group in the items' order: the fan-out's one grouping helper. */
export function groupBy<T, K>(items: readonly T[], keyOf: (item: T, position: number) => K): Map<K, { positions: number[]; items: T[] }> {
  const groups = new Map<K, { positions: number[]; items: T[] }>();
  items.forEach((item, position) => {
    const key = keyOf(item, position);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { positions: [], items: [] }));
    group.positions.push(position);
    group.items.push(item);
  });
  return groups;
}
