import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { deadLetterTopicName } from "../catalog/dead-letters";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { RedriveItem, SubscriptionSpec } from "../shared/partition-api";
import { callPartition, partitionHandle, topicPartitions } from "./partitions";

const BATCH = 500;

export interface RedriveReport {
  /** Dead letters now deliverable to the subscription again. */
  moved: number;
  /** Dead letters whose message the source no longer has (past retention); they stay. */
  missing: number;
}

/**
 * Moves a subscription's dead letters (up to `max`, optionally only one reason) back: each
 * becomes deliverable to that subscription again, with fresh attempts; other subscriptions
 * are not touched. Each batch is first restored at the source, which remembers what it
 * restored, and only then marked moved in the dead-letter topic, so a redrive that failed
 * halfway can be repeated: nothing is moved twice and nothing is lost.
 */
export async function redrive(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  spec: SubscriptionSpec,
  options: { max: number; reason: string | null },
): Promise<RedriveReport> {
  const report: RedriveReport = { moved: 0, missing: 0 };
  const deadLetters = await new Catalog(env.CATALOG).getTopic(deadLetterTopicName(topic.name, subscription));
  if (!deadLetters) return report;
  for (const dlq of topicPartitions(env, deadLetters)) {
    let after = -1;
    while (report.moved + report.missing < options.max) {
      const items = await callPartition(() =>
        dlq.stub.deadLettersFor({
          sourceTopicUid: topic.uid,
          subscriptionUid: subscription.uid,
          reason: options.reason,
          max: Math.min(BATCH, options.max - report.moved - report.missing),
          after,
        }),
      );
      if (items.length === 0) break;
      after = items[items.length - 1]!.at;
      const bySource = new Map<number, RedriveItem[]>();
      for (const item of items) {
        if (item.partition >= topic.partitions) continue;
        const group = bySource.get(item.partition);
        if (group) group.push(item);
        else bySource.set(item.partition, [item]);
      }
      const results = await Promise.all(
        [...bySource].map(([index, group]) =>
          callPartition(() => partitionHandle(env, topic, index).stub.restore(spec, group)),
        ),
      );
      const restored = results.flatMap((r) => r.restored);
      await callPartition(() => dlq.stub.markRedriven(restored));
      report.moved += restored.length;
      report.missing += items.length - restored.length;
    }
  }
  return report;
}
