import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import type { TopicRecord } from "../catalog/records";
import { MAX_PARTITIONS_PER_SWEEP, SWEEP_CONCURRENCY, SWEEP_TOPIC_PAGE } from "../shared/limits";
import { sweepPartition, sweepSpecs } from "../routing/sweep";

export interface SweepReport {
  partitions: number;
  woken: number;
  deleted: number;
  failed: number;
  /** Catalog queries this run made. */
  queries: number;
}

/** Where the sweep goes on from: partition `index` of topic `topic` ("" and 0: the start). */
export interface SweepCursor {
  topic: string;
  index: number;
}

export const SWEEP_START: SweepCursor = { topic: "", index: 0 };

/**
 * The partitions one run visits: MAX_PARTITIONS_PER_SWEEP of them, in topic name and index
 * order from `cursor`, wrapping around once; topics are read a page at a time (never the whole
 * catalog), and the cursor carries the walk into the next run. So every partition is visited
 * within ceil(partitions / MAX_PARTITIONS_PER_SWEEP) runs, and a run costs the same however big
 * the fleet is.
 */
export async function sweepBatch(
  catalog: Catalog,
  cursor: SweepCursor,
  budget: number = MAX_PARTITIONS_PER_SWEEP,
): Promise<{ visits: { topic: TopicRecord; index: number }[]; next: SweepCursor; queries: number }> {
  const visits: { topic: TopicRecord; index: number }[] = [];
  const seen = new Set<string>();
  let from = cursor.topic;
  let firstIndex = cursor.index;
  let wrapped = false;
  let queries = 0;
  for (;;) {
    queries++;
    const page = await catalog.topicsFrom(from, SWEEP_TOPIC_PAGE);
    for (const topic of page) {
      for (let index = topic.name === cursor.topic && !wrapped ? firstIndex : 0; index < topic.partitions; index++) {
        const key = `${topic.uid}:${index}`;
        if (seen.has(key)) return { visits, next: { topic: topic.name, index }, queries };
        if (visits.length >= budget) return { visits, next: { topic: topic.name, index }, queries };
        seen.add(key);
        visits.push({ topic, index });
      }
      firstIndex = 0;
    }
    if (page.length === SWEEP_TOPIC_PAGE) {
      from = `${page[page.length - 1]!.name}\u0000`;
      continue;
    }
    if (wrapped || (cursor.topic === "" && cursor.index === 0)) return { visits, next: SWEEP_START, queries };
    wrapped = true;
    from = "";
  }
}

/**
 * The cron's safety net over the partitions: each visited one takes up its topic's rules and
 * its subscriptions' policies, does what is due (redelivery, dead letters, TTL, retention) and
 * re-arms its alarm. Partitions keep their own alarms, so this matters for a partition whose
 * alarm was lost and for retention blocked by unacked messages.
 */
export async function sweepPartitions(env: Env, cursor: SweepCursor): Promise<SweepReport & { next: SweepCursor }> {
  const catalog = new Catalog(env.CATALOG);
  const { visits, next, queries } = await sweepBatch(catalog, cursor);
  const topics = [...new Map(visits.map((v) => [v.topic.name, v.topic])).values()];
  const specs = await sweepSpecs(env, topics);
  const report: SweepReport & { next: SweepCursor } = { partitions: visits.length, woken: 0, deleted: 0, failed: 0, queries: queries + 2, next };
  for (let i = 0; i < visits.length; i += SWEEP_CONCURRENCY) {
    const results = await Promise.allSettled(
      visits
        .slice(i, i + SWEEP_CONCURRENCY)
        .map(({ topic, index }) => sweepPartition(env, topic, index, specs.get(topic.name) ?? [])),
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
