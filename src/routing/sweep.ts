// The cron sweep's calls to partitions: each takes up its topic's rules and its live
// subscriptions' policies, and does what is due.
import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { deadLetterTopicName, deadLetterTopicProblem, ensureDeadLetterTopic } from "../catalog/dead-letters";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { SubscriptionSpec } from "../shared/partition-api";
import { callPartition } from "./failures";
import { partitionHandle } from "./handles";
import { partitionContext, subscriptionSpec } from "./specs";

/**
 * The specs of these topics' subscriptions, by topic name, with their dead-letter topics made
 * sure of: two catalog queries for all of them (plus one per dead-letter topic that must be
 * created, which is rare), not one per subscription.
 */
export async function sweepSpecs(env: Env, topics: readonly TopicRecord[]): Promise<Map<string, SubscriptionSpec[]>> {
  const catalog = new Catalog(env.CATALOG);
  const byTopic = await catalog.subscriptionsOf(topics.map((t) => t.name));
  const wanted = new Map<SubscriptionRecord, string | null>();
  for (const subscriptions of byTopic.values()) {
    for (const s of subscriptions) {
      const name = deadLetterTopicName(s.topic, s);
      wanted.set(s, deadLetterTopicProblem(s.topic, name) ? null : name);
    }
  }
  const found = await catalog.topicsNamed([...new Set([...wanted.values()].filter((n): n is string => n !== null))]);
  for (const name of new Set(wanted.values())) {
    if (name !== null && !found.has(name)) found.set(name, await ensureDeadLetterTopic(catalog, name));
  }
  const specs = new Map<string, SubscriptionSpec[]>();
  for (const [topic, subscriptions] of byTopic) {
    specs.set(topic, subscriptions.map((s) => {
      const name = wanted.get(s) ?? null;
      return { ...subscriptionSpec(s, name === null ? null : found.get(name) ?? null), surgeOff: s.surgeState === "off" };
    }));
  }
  return specs;
}

/**
 * Sweeps partition `index` of `topic`: it takes up the topic's rules and the policies of the
 * subscriptions it already serves (a spec read before a deletion must not bring a deleted
 * subscription back: partitions learn new ones from the subscription's creation and from
 * receives; deleted ones are forgotten through their tombstone), does what is due and re-arms.
 */
export async function sweepPartition(
  env: Env,
  topic: TopicRecord,
  index: number,
  specs: SubscriptionSpec[],
): Promise<{ woken: number; deleted: number; forgotten: number }> {
  const { stub } = partitionHandle(env, topic, index);
  const swept = await callPartition(() => stub.sweep(partitionContext(topic, index), specs, { introduce: false, forgetOthers: false }));
  // A subscription the partition serves that the catalog does not know is deleted: uids are
  // never used again, and partitions learn of one only after the catalog has it. Checked
  // against the catalog after the partition answered, so a subscription created meanwhile is
  // never taken for one (a deletion whose tombstone is gone, or from before tombstones existed).
  const listed = new Set(specs.map((s) => s.uid));
  const unlisted = (swept.subscriptions ?? []).filter((uid) => !listed.has(uid));
  const deleted = unlisted.length === 0 ? [] : await new Catalog(env.CATALOG).missingSubscriptions(unlisted);
  await Promise.all(deleted.map((uid) => callPartition(() => stub.unsubscribe(uid))));
  return { woken: swept.woken, deleted: swept.deleted, forgotten: deleted.length };
}
