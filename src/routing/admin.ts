// The admin fan-outs: what a change in the catalog asks of every partition of a topic, and
// what the Worker gathers from all of them (stats, cancel, seek).
import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { Tombstones, type Tombstone } from "../catalog/tombstones";
import { RETIRE_CALLS_PER_REQUEST } from "../shared/limits";
import { retireObjects } from "./retire";
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
 * Retires the objects a deletion's tombstone names (routing/retire.ts), as far as
 * RETIRE_CALLS_PER_REQUEST calls go, and forgets the tombstone when done; what failed or did not
 * fit, the cron retires (cron/tombstones.ts). Answers whether everything is retired.
 */
export async function retireNow(env: Env, tombstone: Tombstone): Promise<boolean> {
  const tombstones = new Tombstones(env.CATALOG);
  const result = await retireObjects(env, tombstone.work, tombstone.progress, RETIRE_CALLS_PER_REQUEST);
  if (result.done) await tombstones.done(tombstone.id);
  else {
    console.error(JSON.stringify({ event: "retire_deferred", topic: tombstone.work.topic, progress: result.progress }));
    await tombstones.later(tombstone, result.progress, Date.now());
  }
  return result.done;
}

/** What cancelling a message id came to. */
export type CancelResult = "cancelled" | "delivered" | "not_found";

/** Cancels a not yet received message on every partition (a keyed message's partition is unknown from its id). */
export async function cancelMessage(env: Env, topic: TopicRecord, id: string): Promise<CancelResult> {
  // A surge may have moved the message to a subscription's temporary partitions: cancel it there too.
  const subscriptions = await new Catalog(env.CATALOG).listSubscriptions(topic.name);
  const partitions = [...topicPartitions(env, topic), ...subscriptions.flatMap((s) => surgePartitions(env, topic, s))];
  const outcomes = await Promise.all(partitions.map((p) => callPartition(async () => p.stub.cancel(id))));
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

/** Rows written and read by each partition of a topic since its object started (no SQL). */
export async function topicRowCounts(env: Env, topic: TopicRecord): Promise<{ partition: number; rowsWritten: number; rowsRead: number }[]> {
  const counts = await Promise.all(topicPartitions(env, topic).map((p) => callPartition(() => p.stub.rowCounts())));
  return counts.map((c, partition) => ({ partition, ...c }));
}

// Stats being gathered in this isolate, by topic uid: a burst of stats calls for one topic
// shares one fan-out instead of each making one call per partition (edges F-9).
const gathering = new Map<string, Promise<TopicStats>>();

/**
 * Gathers a topic's statistics from every partition, and every running surge's: one call per
 * partition, shared by every stats call for the topic that arrives while it runs.
 */
export function topicStats(env: Env, topic: TopicRecord): Promise<TopicStats> {
  let pending = gathering.get(topic.uid);
  if (!pending) {
    pending = gatherStats(env, topic).finally(() => gathering.delete(topic.uid));
    gathering.set(topic.uid, pending);
  }
  return pending;
}

async function gatherStats(env: Env, topic: TopicRecord): Promise<TopicStats> {
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
