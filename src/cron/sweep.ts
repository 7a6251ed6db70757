import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { MAX_PARTITIONS_PER_SWEEP } from "../shared/limits";
import { topicPartitions, type PartitionHandle } from "../routing/partitions";

const CONCURRENCY = 16;

export interface SweepReport {
  partitions: number;
  total: number;
  promoted: number;
  failed: number;
}

/**
 * The cron's safety net over every partition: each forgets deleted subscriptions, makes due
 * messages ready (waking long polls) and re-arms its alarm. Partitions keep their own alarms,
 * so this only matters for one whose alarm was lost. One run visits at most
 * MAX_PARTITIONS_PER_SWEEP partitions, starting at a place that moves with `runIndex`, so
 * that every partition is visited within ceil(total / MAX_PARTITIONS_PER_SWEEP) runs.
 */
export async function sweepPartitions(env: Env, runIndex: number): Promise<SweepReport> {
  const catalog = new Catalog(env.CATALOG);
  const [topics, uidsByTopic] = await Promise.all([catalog.listTopics(), catalog.subscriptionUidsByTopic()]);
  const all: { handle: PartitionHandle; live: string[] }[] = [];
  for (const topic of topics) {
    const live = uidsByTopic.get(topic.name) ?? [];
    for (const handle of topicPartitions(env, topic)) all.push({ handle, live });
  }
  const count = Math.min(all.length, MAX_PARTITIONS_PER_SWEEP);
  const start = all.length === 0 ? 0 : (runIndex * MAX_PARTITIONS_PER_SWEEP) % all.length;
  const batch = Array.from({ length: count }, (_, i) => all[(start + i) % all.length]!);

  let promoted = 0;
  let failed = 0;
  for (let i = 0; i < batch.length; i += CONCURRENCY) {
    const results = await Promise.allSettled(
      batch.slice(i, i + CONCURRENCY).map(({ handle, live }) => handle.stub.sweep(live)),
    );
    for (const r of results) {
      if (r.status === "fulfilled") promoted += r.value.promoted;
      else failed++;
    }
  }
  return { partitions: batch.length, total: all.length, promoted, failed };
}
