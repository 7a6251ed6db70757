import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { deadLetterTopicName } from "../catalog/dead-letters";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { REDRIVE_PAGE_MESSAGES } from "../shared/limits";
import { callPartition } from "./failures";
import { groupBy, partitionHandle, topicPartitions } from "./handles";
import { ensureSubscriptionSpec } from "./specs";

export interface RedriveReport {
  /** Dead letters now deliverable to the subscription again. */
  moved: number;
  /** Dead letters whose message the source no longer has (past retention); they stay. */
  missing: number;
  /** The request stopped at its max with dead letters left: call again for more. */
  more: boolean;
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
  options: { max: number; reason: string | null },
): Promise<RedriveReport> {
  const report: RedriveReport = { moved: 0, missing: 0, more: false };
  const deadLetters = await new Catalog(env.CATALOG).getTopic(deadLetterTopicName(topic.name, subscription));
  if (!deadLetters) return report;
  const spec = await ensureSubscriptionSpec(env, topic, subscription);
  for (const dlq of topicPartitions(env, deadLetters)) {
    let after = -1;
    for (;;) {
      const left = options.max - report.moved - report.missing;
      if (left <= 0) {
        report.more = true;
        return report;
      }
      const page = await callPartition(() =>
        dlq.stub.deadLettersPage({
          sourceTopicUid: topic.uid,
          subscriptionUid: subscription.uid,
          reason: options.reason,
          max: Math.min(REDRIVE_PAGE_MESSAGES, left),
          after,
        }),
      );
      after = page.scannedTo;
      if (page.items.length > 0) {
        const bySource = groupBy(
          page.items.filter((item) => item.partition < topic.partitions),
          (item) => item.partition,
        );
        const results = await Promise.all(
          [...bySource].map(([index, group]) =>
            callPartition(() => partitionHandle(env, topic, index).stub.redeliverDeadLetters(spec, group.items)),
          ),
        );
        const restored = results.flatMap((r) => r.restored);
        await callPartition(() => dlq.stub.markRedriven(restored));
        report.moved += restored.length;
        report.missing += page.items.length - restored.length;
      }
      if (page.done) break;
    }
  }
  return report;
}
