// What the Worker asks of partitions to see inside a topic: a message's trace, the dead-letter
// browser, and the per-topic snapshot behind /metrics and the dashboard's history.
import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { TtlCache } from "../catalog/cache";
import { deadLetterTopicName } from "../catalog/dead-letters";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { partitionForKey } from "../shared/hash";
import { DEAD_LETTER_PREVIEW_CHARS, METRICS_CACHE_TTL_MS, TRACE_FANOUT_CONCURRENCY } from "../shared/limits";
import type { DeadLetterEntry, MessageTrace, PartitionStats } from "../shared/partition-api";
import { callPartition } from "./failures";
import { surgePartitions, topicPartitions, type PartitionHandle } from "./handles";

/** Runs `fn` over `items`, at most `concurrency` at a time, in order of waves; stops early when `done`. */
async function inWaves<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>, done: (results: R[]) => boolean): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += concurrency) {
    results.push(...(await Promise.all(items.slice(i, i + concurrency).map(fn))));
    if (done(results)) break;
  }
  return results;
}

export interface FoundMessage {
  partition: number;
  trace: MessageTrace;
  /** Subscription names by uid (subscriptions the catalog no longer has are left out of the trace). */
  names: Map<string, string>;
  /** How many partitions were asked. */
  calls: number;
}

/**
 * Finds a message by id and returns its trace. With `key`, asks only the key's partition; with
 * a `partition` hint, asks that one first; otherwise asks every partition,
 * TRACE_FANOUT_CONCURRENCY at a time, stopping after the wave that found it. Null: not found.
 * When several partitions hold the id (ids of keyless messages are not unique across
 * partitions), the newest wins.
 */
export async function findMessage(
  env: Env,
  topic: TopicRecord,
  id: string,
  hint: { key: string | null; partition: number | null },
): Promise<FoundMessage | null> {
  const all = topicPartitions(env, topic);
  const first = hint.key !== null ? partitionForKey(hint.key, topic.partitions) : hint.partition;
  let order: PartitionHandle[] = all;
  if (first !== null) order = [all[first]!, ...(hint.key !== null ? [] : all.filter((p) => p.index !== first))];
  const ask = async (p: PartitionHandle) => ({ partition: p.index, trace: await callPartition(() => p.stub.trace(id)) });
  // The hinted partition alone first; then the rest in waves.
  const results = first !== null ? [await ask(order[0]!)] : [];
  if (!results.some((r) => r.trace)) {
    const rest = first !== null ? order.slice(1) : order;
    results.push(...(await inWaves(rest, TRACE_FANOUT_CONCURRENCY, ask, (rs) => rs.some((r) => r.trace))));
  }
  let best: { partition: number; trace: MessageTrace } | null = null;
  for (const r of results) {
    if (r.trace && (!best || r.trace.producedAt > best.trace.producedAt)) best = { partition: r.partition, trace: r.trace };
  }
  if (!best) return null;
  const subscriptions = await new Catalog(env.CATALOG).listSubscriptions(topic.name);
  return { ...best, names: new Map(subscriptions.map((s) => [s.uid, s.name])), calls: results.length };
}

export interface DeadLetterPage {
  /** The dead-letter topic's name; null when it does not exist (no dead letters yet). */
  topic: string | null;
  entries: (DeadLetterEntry & { partition: number })[];
  /** Dead letters of this subscription not yet redriven, in the whole dead-letter topic. */
  total: number;
}

/**
 * The first `max` dead letters of a subscription not yet redriven, oldest first per partition
 * of its dead-letter topic, bodies cut to DEAD_LETTER_PREVIEW_CHARS; and how many there are.
 * Costs two calls per partition of the dead-letter topic.
 */
export async function browseDeadLetters(env: Env, topic: TopicRecord, subscription: SubscriptionRecord, max: number): Promise<DeadLetterPage> {
  const name = deadLetterTopicName(topic.name, subscription);
  const deadLetters = await new Catalog(env.CATALOG).getTopic(name);
  if (!deadLetters) return { topic: null, entries: [], total: 0 };
  const request = { sourceTopicUid: topic.uid, subscriptionUid: subscription.uid, after: -1, max, previewChars: DEAD_LETTER_PREVIEW_CHARS };
  const perPartition = await Promise.all(
    topicPartitions(env, deadLetters).map(async (p) => {
      const [entries, stats] = await Promise.all([
        callPartition(() => p.stub.browseDeadLetters(request)),
        callPartition(() => p.stub.stats()),
      ]);
      const count = stats.observed?.deadLetters.find((d) => d.topicUid === topic.uid && d.subscriptionUid === subscription.uid)?.count ?? 0;
      return { entries: entries.map((e) => ({ ...e, partition: p.index })), count };
    }),
  );
  const entries = perPartition
    .flatMap((p) => p.entries)
    .sort((a, b) => a.producedAt - b.producedAt)
    .slice(0, max);
  return { topic: name, entries, total: perPartition.reduce((n, p) => n + p.count, 0) };
}

/** A topic's partitions' stats at one moment: what /metrics and the history are made of. */
export interface TopicSnapshot {
  topic: TopicRecord;
  subscriptions: SubscriptionRecord[];
  /** The topic's own partitions, by index. */
  partitions: PartitionStats[];
  /** Each subscription's running surge partitions (by subscription uid). */
  temporary: Map<string, PartitionStats[]>;
  /** When it was gathered (ms since epoch). */
  at: number;
}

const snapshots = new TtlCache<string, TopicSnapshot>(1000);

/**
 * The snapshot of a topic, reused for METRICS_CACHE_TTL_MS per isolate (`fresh` skips the
 * cache). A miss costs one stats call per partition (and per surge partition).
 */
export async function topicSnapshot(env: Env, topic: TopicRecord, fresh = false): Promise<TopicSnapshot> {
  const load = async (): Promise<TopicSnapshot> => {
    const subscriptions = await new Catalog(env.CATALOG).listSubscriptions(topic.name);
    const stats = (handles: PartitionHandle[]) => Promise.all(handles.map((p) => callPartition(() => p.stub.stats())));
    const [partitions, temporary] = await Promise.all([
      stats(topicPartitions(env, topic)),
      Promise.all(subscriptions.map(async (s) => [s.uid, await stats(surgePartitions(env, topic, s))] as const)),
    ]);
    return { topic, subscriptions, partitions, temporary: new Map(temporary), at: Date.now() };
  };
  const key = `${topic.uid}`;
  if (fresh) snapshots.delete(key);
  return snapshots.get(key, load, () => METRICS_CACHE_TTL_MS);
}
