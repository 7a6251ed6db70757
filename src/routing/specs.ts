// What partitions are told of the catalog: a subscription's spec, a partition's context.
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { Catalog } from "../catalog/catalog";
import { deadLetterTopicName, deadLetterTopicProblem, ensureDeadLetterTopic } from "../catalog/dead-letters";
import type { PartitionContext, SubscriptionSpec } from "../shared/partition-api";

/**
 * What a partition needs to know of a subscription, with its dead-letter topic — which is
 * CREATED here (default settings) if it does not exist: every caller that hands a spec to a
 * partition also makes sure its dead letters have somewhere to go. Cached reads make the
 * usual call free of catalog round trips.
 */
export async function ensureSubscriptionSpec(
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
