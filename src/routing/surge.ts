// The cron's surge effects on the objects: observe the backlog, move it, check the temporary
// partitions are empty, destroy them. The decisions are the cron's (cron/surge-policy.ts).
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { SURGE_CHUNK_MESSAGES, SURGE_MOVE_BUDGET_MS } from "../shared/limits";
import type { SurgeTarget } from "../shared/partition-api";
import { callPartition } from "./failures";
import { surgePartitions, topicPartitions } from "./handles";
import { ensureSubscriptionSpec, partitionContext } from "./specs";

/** A subscription's ready depth and oldest unacked message over the topic's own partitions. */
export async function observeBacklog(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
): Promise<{ depth: number; oldestUnackedAt: number | null }> {
  const stats = await Promise.all(topicPartitions(env, topic).map((p) => callPartition(() => p.stub.stats())));
  const counts = stats.map((s) => s.subscriptions.find((c) => c.uid === subscription.uid));
  const oldest = Math.min(...counts.map((c) => c?.oldestUnackedAt ?? Infinity));
  return {
    depth: counts.reduce((n, c) => n + (c?.ready ?? 0), 0),
    oldestUnackedAt: Number.isFinite(oldest) ? oldest : null,
  };
}

/**
 * Has every source partition move the subscription's backlog into the surge's temporary
 * partitions (`onlyPending`: only finish moves a crash left half done), for at most
 * SURGE_MOVE_BUDGET_MS each. Answers how many messages moved.
 */
export async function moveBacklog(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  onlyPending: boolean,
): Promise<number> {
  const spec = await ensureSubscriptionSpec(env, topic, subscription);
  const context = partitionContext(topic, 0);
  const target: SurgeTarget = {
    generation: subscription.surgeStartedAt ?? 0,
    partitions: subscription.surgePartitions,
    // Temporary partitions hold a share of a backlog: no backlog limits of their own.
    context: { ...context, policy: { ...context.policy, maxMessages: null, maxBytes: null } },
  };
  const moved = await Promise.all(
    topicPartitions(env, topic).map((p) =>
      callPartition(() =>
        p.stub.surgeMove(spec, target, { chunk: SURGE_CHUNK_MESSAGES, budgetMs: SURGE_MOVE_BUDGET_MS, onlyPending }),
      ),
    ),
  );
  return moved.reduce((n, m) => n + m.moved, 0);
}

/** Whether the temporary partitions hold nothing for the subscription and no move is half done. */
export async function surgeDrained(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): Promise<boolean> {
  const all = [...topicPartitions(env, topic), ...surgePartitions(env, topic, subscription)];
  const stats = await Promise.all(all.map((p) => callPartition(() => p.stub.stats())));
  return stats.every((s, i) => {
    const c = s.subscriptions.find((x) => x.uid === subscription.uid);
    if (!c) return true;
    const temporary = all[i]!.index >= topic.partitions;
    return c.moving === 0 && (!temporary || c.ready + c.delayed + c.inFlight + c.deadLettersPending === 0);
  });
}

/** Empties and tombstones a surge's temporary partitions. */
export async function destroySurgePartitions(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): Promise<void> {
  await Promise.all(surgePartitions(env, topic, subscription).map((p) => callPartition(() => p.stub.destroy())));
}
