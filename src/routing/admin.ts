// The admin fan-outs: what a change in the catalog asks of every partition of a topic, and
// what the Worker gathers from all of them (stats, cancel, seek).
import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { PartitionStats, SeekTarget, SubscriptionCounts } from "../shared/partition-api";
import { callPartition } from "./failures";
import { partitionHandle, surgePartitions, topicPartitions } from "./handles";
import { ensureSubscriptionSpec } from "./specs";

/**
 * Tells every partition of the topic of a new or changed subscription (and its policy), so
 * that produce records deliveries for it from the start; creates its dead-letter topic.
 * Partitions also learn of it with each receive, so a partition this misses catches up then.
 */
export async function subscribeEverywhere(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): Promise<void> {
  const spec = await ensureSubscriptionSpec(env, topic, subscription);
  await Promise.all(topicPartitions(env, topic).map((p) => callPartition(() => p.stub.subscribe(spec))));
}

/**
 * Empties the objects of a topic the catalog no longer names — its partitions and every
 * running surge's — and makes them refuse writes from isolates whose cache still knows it.
 */
export async function destroyTopicObjects(env: Env, topic: TopicRecord, subscriptions: readonly SubscriptionRecord[]): Promise<void> {
  const partitions = [...topicPartitions(env, topic), ...subscriptions.flatMap((s) => surgePartitions(env, topic, s))];
  await Promise.all(partitions.map((p) => callPartition(() => p.stub.destroy())));
}

/**
 * Drops a deleted subscription's state everywhere: its deliveries on each partition, its surge's
 * temporary partitions. Best effort: the cron sweep drops what a failed call left within a minute.
 */
export async function forgetSubscription(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): Promise<void> {
  await Promise.allSettled([
    ...topicPartitions(env, topic).map((p) => p.stub.unsubscribe(subscription.uid)),
    ...surgePartitions(env, topic, subscription).map((p) => p.stub.destroy()),
  ]);
}

/** What cancelling a message id came to. */
export type CancelResult = "cancelled" | "delivered" | "not_found";

/** Cancels a not yet received message on every partition (a keyed message's partition is unknown from its id). */
export async function cancelMessage(env: Env, topic: TopicRecord, id: string): Promise<CancelResult> {
  const outcomes = await Promise.all(topicPartitions(env, topic).map((p) => callPartition(async () => p.stub.cancel(id))));
  if (outcomes.some((o) => !o.ok && o.code === "message_delivered")) return "delivered";
  return outcomes.some((o) => o.ok) ? "cancelled" : "not_found";
}

/** Moves a subscription's position on the partitions named; answers where each now starts. */
export async function seekPartitions(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  targets: readonly { partition: number; target: SeekTarget }[],
): Promise<{ partition: number; offset: number }[]> {
  const spec = await ensureSubscriptionSpec(env, topic, subscription);
  return Promise.all(
    targets.map(async ({ partition, target }) => ({
      partition,
      offset: await callPartition(() => partitionHandle(env, topic, partition).stub.seek(spec, target)),
    })),
  );
}

/** One partition's counts for one subscription (zeros when the partition has not met it yet). */
export interface PartitionCounts {
  partition: number;
  ready: number;
  delayed: number;
  inFlight: number;
  moving: number;
  oldestUnackedAt: number | null;
  deadLettersPending: number;
}

export interface SubscriptionStats {
  subscription: SubscriptionRecord;
  partitions: PartitionCounts[];
  /** The running surge's temporary partitions (none when off). */
  temporary: PartitionCounts[];
}

export interface TopicStats {
  partitions: ({ partition: number } & Omit<PartitionStats, "subscriptions">)[];
  subscriptions: SubscriptionStats[];
}

function countsOf(partition: number, stats: PartitionStats, subscription: SubscriptionRecord): PartitionCounts {
  const c: SubscriptionCounts | undefined = stats.subscriptions.find((x) => x.uid === subscription.uid);
  return {
    partition,
    ready: c?.ready ?? 0,
    delayed: c?.delayed ?? 0,
    inFlight: c?.inFlight ?? 0,
    moving: c?.moving ?? 0,
    oldestUnackedAt: c?.oldestUnackedAt ?? null,
    deadLettersPending: c?.deadLettersPending ?? 0,
  };
}

/** Gathers a topic's statistics from every partition, and every running surge's. */
export async function topicStats(env: Env, topic: TopicRecord): Promise<TopicStats> {
  const [subscriptions, perPartition] = await Promise.all([
    new Catalog(env.CATALOG).listSubscriptions(topic.name),
    Promise.all(topicPartitions(env, topic).map((p) => callPartition(() => p.stub.stats()))),
  ]);
  const subscriptionStats = await Promise.all(
    subscriptions.map(async (subscription) => {
      const temps = surgePartitions(env, topic, subscription);
      const tempStats = await Promise.all(temps.map((p) => callPartition(() => p.stub.stats())));
      return {
        subscription,
        partitions: perPartition.map((s, partition) => countsOf(partition, s, subscription)),
        temporary: tempStats.map((s, i) => countsOf(temps[i]!.index, s, subscription)),
      };
    }),
  );
  return {
    partitions: perPartition.map(({ subscriptions: _, ...rest }, partition) => ({ partition, ...rest })),
    subscriptions: subscriptionStats,
  };
}
