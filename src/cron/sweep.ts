import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { MAX_PARTITIONS_PER_SWEEP, SWEEP_CONCURRENCY } from "../shared/limits";
import type { SubscriptionSpec } from "../shared/partition-api";
import { sweepPartition, sweepSpecs, sweepTargets, type SweepTarget } from "../routing/sweep";

export interface SweepReport {
  partitions: number;
  total: number;
  woken: number;
  deleted: number;
  failed: number;
}

/**
 * The cron's safety net over every partition: each takes up its topic's rules and its
 * subscriptions' policies, forgets deleted subscriptions, does what is due (redelivery, dead
 * letters, TTL, retention) and re-arms its alarm. Partitions keep their own alarms, so this
 * matters for a partition whose alarm was lost and for retention blocked by unacked messages.
 * One run visits at most MAX_PARTITIONS_PER_SWEEP partitions, starting at a place that moves
 * with `runIndex`, so that every partition is visited within
 * ceil(total / MAX_PARTITIONS_PER_SWEEP) runs.
 */
export async function sweepPartitions(env: Env, runIndex: number): Promise<SweepReport> {
  const catalog = new Catalog(env.CATALOG);
  const topics = await catalog.listTopics();
  const all: { target: SweepTarget; specs: () => Promise<SubscriptionSpec[]> }[] = [];
  for (const topic of topics) {
    let specs: Promise<SubscriptionSpec[]> | null = null;
    // Resolved once per topic, and only for topics this run visits.
    const resolve = () => (specs ??= catalog.listSubscriptions(topic.name).then((subs) => sweepSpecs(env, topic, subs)));
    for (const target of sweepTargets(env, topic)) all.push({ target, specs: resolve });
  }
  const count = Math.min(all.length, MAX_PARTITIONS_PER_SWEEP);
  const start = all.length === 0 ? 0 : (runIndex * MAX_PARTITIONS_PER_SWEEP) % all.length;
  const batch = Array.from({ length: count }, (_, i) => all[(start + i) % all.length]!);

  const report: SweepReport = { partitions: batch.length, total: all.length, woken: 0, deleted: 0, failed: 0 };
  for (let i = 0; i < batch.length; i += SWEEP_CONCURRENCY) {
    const results = await Promise.allSettled(
      batch.slice(i, i + SWEEP_CONCURRENCY).map(async ({ target, specs }) => sweepPartition(target, await specs())),
    );
    for (const r of results) {
      if (r.status === "fulfilled") {
        report.woken += r.value.woken;
        report.deleted += r.value.deleted;
      } else {
        report.failed++;
        console.error(JSON.stringify({ event: "sweep_partition_failed", message: String(r.reason) }));
      }
    }
  }
  return report;
}
