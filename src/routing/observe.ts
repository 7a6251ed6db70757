// What the Worker asks of partitions to see inside a topic: a message's trace, the dead-letter
// browser, and the per-topic snapshot behind /metrics and the dashboard's history.
import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { TtlCache } from "../catalog/cache";
import { deadLetterTopicName } from "../catalog/dead-letters";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { partitionForKey } from "../shared/hash";
import { DEAD_LETTER_PREVIEW_CHARS, METRICS_CACHE_TTL_MS, METRICS_TOPIC_CONCURRENCY, TRACE_FANOUT_CONCURRENCY } from "../shared/limits";
import type { DeadLetterEntry, MessageTrace, PartitionStats } from "../shared/partition-api";
import { DEAD_LETTER_HEADERS } from "../partition/policy";
import { callPartition } from "./failures";
import { SURGE_INDEX_BASE } from "../shared/object-names";
import { surgePartitionHandle, surgePartitions, topicPartitions, type PartitionHandle } from "./handles";

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
  const ask = async (p: PartitionHandle) => ({ partition: p.index, trace: await callPartition(() => p.stub.traceMessage(id)) });
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
  const trace = await followSurgeMoves(env, topic, subscriptions, best.trace);
  return { partition: best.partition, trace: trace.trace, names: new Map(subscriptions.map((s) => [s.uid, s.name])), calls: results.length + trace.calls };
}

/**
 * A message a surge moved to a temporary partition goes on there: for each subscription whose
 * story ends with `moved`, asks that partition (one call) and appends what happened there. A
 * surge folds back only once its temporary partitions are drained, so a move whose partition
 * is gone ended in an ack.
 */
async function followSurgeMoves(
  env: Env,
  topic: TopicRecord,
  subscriptions: readonly SubscriptionRecord[],
  trace: MessageTrace,
): Promise<{ trace: MessageTrace; calls: number }> {
  let calls = 0;
  const events = [...trace.events];
  const states = [...trace.subscriptions];
  for (const [i, state] of states.entries()) {
    const own = events.filter((e) => e.subscriptionUid === state.uid);
    const moved = own.at(-1);
    if (moved?.event !== "moved") continue;
    const subscription = subscriptions.find((s) => s.uid === state.uid);
    const k = Number(moved.detail?.partition) - SURGE_INDEX_BASE;
    let there: MessageTrace | null = null;
    if (subscription && Number.isInteger(k) && k >= 0 && k < subscription.surgePartitions) {
      const handle = surgePartitionHandle(env, topic, subscription, k);
      calls++;
      there = await callPartition(() => handle.stub.traceMessage(trace.id));
    }
    const theirs = there?.producedAt === trace.producedAt ? there.subscriptions.find((s) => s.uid === state.uid) : undefined;
    if (there && theirs) {
      const at = events.lastIndexOf(moved) + 1;
      events.splice(at, 0, ...there.events.filter((e) => e.subscriptionUid === state.uid));
      states[i] = { uid: state.uid, state: theirs.state, attempts: state.attempts + theirs.attempts };
    } else {
      events.splice(events.lastIndexOf(moved) + 1, 0, { at: null, event: "acked", subscriptionUid: state.uid, attempt: null, detail: null });
      states[i] = { uid: state.uid, state: "acked", attempts: state.attempts };
    }
  }
  return { trace: { ...trace, events, subscriptions: states }, calls };
}

/** A dead letter with what its headers say of it. */
export interface BrowsedDeadLetter extends DeadLetterEntry {
  partition: number;
  reason: string | null;
  attempts: number | null;
  deadLetteredAt: string | null;
}

export interface DeadLetterPage {
  /** The dead-letter topic's name; null when it does not exist (no dead letters yet). */
  topic: string | null;
  entries: BrowsedDeadLetter[];
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
      return { entries: entries.map((e) => browsed(e, p.index)), count };
    }),
  );
  const entries = perPartition
    .flatMap((p) => p.entries)
    .sort((a, b) => a.producedAt - b.producedAt)
    .slice(0, max);
  return { topic: name, entries, total: perPartition.reduce((n, p) => n + p.count, 0) };
}

function browsed(entry: DeadLetterEntry, partition: number): BrowsedDeadLetter {
  const headers = entry.headers ? (JSON.parse(entry.headers) as Record<string, string>) : {};
  const attempts = Number(headers[DEAD_LETTER_HEADERS.attempts]);
  return {
    ...entry,
    partition,
    reason: headers[DEAD_LETTER_HEADERS.reason] ?? null,
    attempts: Number.isInteger(attempts) ? attempts : null,
    deadLetteredAt: headers[DEAD_LETTER_HEADERS.at] ?? null,
  };
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

/** One subscription's figures, summed over the topic's partitions and its surge partitions. */
export interface SubscriptionFigures {
  subscription: SubscriptionRecord;
  ready: number;
  inFlight: number;
  delayed: number;
  /** produced_at of the oldest unacked message, or null. */
  oldestUnackedAt: number | null;
  deadLettersPending: number;
  surgePartitions: number;
  acked: number;
  redelivered: number;
  redriven: number;
  emptyLeases: number;
  /** Dead-lettered, by reason. */
  deadLettered: Map<string, number>;
}

export interface TopicFigures {
  topic: TopicRecord;
  messages: number;
  bytes: number;
  produced: number;
  subscriptions: SubscriptionFigures[];
  /** When this topic is a dead-letter topic: its dead letters not yet redriven, by source. */
  deadLetters: { topicUid: string; subscriptionUid: string; count: number }[];
}

/** Sums a snapshot's partitions into the figures /metrics and the history show. Pure. */
export function topicFigures(snapshot: TopicSnapshot): TopicFigures {
  const own = snapshot.partitions;
  const figures: TopicFigures = {
    topic: snapshot.topic,
    messages: own.reduce((n, p) => n + p.messages, 0),
    bytes: own.reduce((n, p) => n + p.bytes, 0),
    produced: 0,
    subscriptions: [],
    deadLetters: [],
  };
  for (const p of own) {
    // Offsets are gap-free and never reused: the next offset is how many messages the partition
    // has stored, a counter that costs no write of its own. (Surge copies go to temporary
    // partitions, which are not counted here.)
    figures.produced += p.nextOffset;
    for (const d of p.observed?.deadLetters ?? []) {
      const known = figures.deadLetters.find((x) => x.topicUid === d.topicUid && x.subscriptionUid === d.subscriptionUid);
      if (known) known.count += d.count;
      else figures.deadLetters.push({ ...d });
    }
  }
  for (const subscription of snapshot.subscriptions) {
    const temporary = snapshot.temporary.get(subscription.uid) ?? [];
    const f: SubscriptionFigures = {
      subscription,
      ready: 0,
      inFlight: 0,
      delayed: 0,
      oldestUnackedAt: null,
      deadLettersPending: 0,
      surgePartitions: temporary.length,
      acked: 0,
      redelivered: 0,
      redriven: 0,
      emptyLeases: 0,
      deadLettered: new Map(),
    };
    for (const p of [...own, ...temporary]) {
      const counts = p.subscriptions.find((s) => s.uid === subscription.uid);
      if (counts) {
        // A message on its way to a surge partition is still waiting to be delivered.
        f.ready += counts.ready + counts.moving;
        f.inFlight += counts.inFlight;
        f.delayed += counts.delayed;
        f.deadLettersPending += counts.deadLettersPending;
        if (counts.oldestUnackedAt !== null && (f.oldestUnackedAt === null || counts.oldestUnackedAt < f.oldestUnackedAt)) {
          f.oldestUnackedAt = counts.oldestUnackedAt;
        }
      }
      for (const c of p.observed?.counters ?? []) {
        if (c.sub !== subscription.uid) continue;
        if (c.name === "acked") f.acked += c.value;
        else if (c.name === "redelivered") f.redelivered += c.value;
        else if (c.name === "redriven") f.redriven += c.value;
        else if (c.name === "empty_leases") f.emptyLeases += c.value;
        else if (c.name === "dead_lettered") f.deadLettered.set(c.reason, (f.deadLettered.get(c.reason) ?? 0) + c.value);
      }
    }
    figures.subscriptions.push(f);
  }
  return figures;
}

/**
 * Every topic's figures, METRICS_TOPIC_CONCURRENCY topics at a time, each from its cached
 * snapshot. A topic whose partitions cannot be reached is left out (and counted in `failed`),
 * so that a scrape never reports a partial, smaller counter.
 */
export async function allTopicFigures(
  env: Env,
  options: { fresh?: boolean; topics?: readonly TopicRecord[] } = {},
): Promise<{ topics: TopicFigures[]; failed: number }> {
  const topics = options.topics ?? (await new Catalog(env.CATALOG).listTopics());
  const results: TopicFigures[] = [];
  let failed = 0;
  for (let i = 0; i < topics.length; i += METRICS_TOPIC_CONCURRENCY) {
    const wave = await Promise.allSettled(topics.slice(i, i + METRICS_TOPIC_CONCURRENCY).map((t) => topicSnapshot(env, t, options.fresh)));
    for (const r of wave) {
      if (r.status === "fulfilled") results.push(topicFigures(r.value));
      else failed++;
    }
  }
  return { topics: results, failed };
}

/** The dead-letter depth of each (topic uid, subscription uid), from the dead-letter topics among `topics`. */
export function deadLetterDepths(topics: readonly TopicFigures[]): Map<string, number> {
  const depths = new Map<string, number>();
  for (const t of topics) {
    for (const d of t.deadLetters) {
      const key = `${d.topicUid}:${d.subscriptionUid}`;
      depths.set(key, (depths.get(key) ?? 0) + d.count);
    }
  }
  return depths;
}
