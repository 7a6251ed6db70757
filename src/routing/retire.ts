// Retiring objects whose catalog rows are gone (catalog/tombstones.ts): destroying a deleted
// topic's partitions, making them forget a deleted subscription, destroying a surge's
// temporary partitions. Every step is idempotent; a tombstone's `progress` says how far it got.
import type { Env } from "../env";
import type { RetireWork } from "../catalog/tombstones";
import type { Partition } from "../partition/partition";
import { partitionName, surgePartitionName } from "../shared/object-names";
import { callPartition } from "./failures";

type Step = (stub: DurableObjectStub<Partition>) => Promise<void>;

/** The objects a tombstone retires, in a fixed order: the surges' temporary partitions, then the topic's. */
function steps(work: RetireWork): { name: string; step: Step }[] {
  const all: { name: string; step: Step }[] = [];
  for (const surge of work.surges) {
    for (let k = 0; k < surge.partitions; k++) {
      all.push({ name: surgePartitionName(work.topicUid, surge.subscriptionUid, surge.generation, k), step: (s) => s.destroy() });
    }
  }
  const forget = work.forgetSubscription;
  for (let index = 0; index < work.partitions; index++) {
    const step: Step | null = work.destroyTopic ? (s) => s.destroy() : forget ? (s) => s.unsubscribe(forget) : null;
    if (step) all.push({ name: partitionName(work.topicUid, index), step });
  }
  return all;
}

/**
 * Retires the objects of `work` from step `from` on, at most `budget` calls, `concurrency` at a
 * time; stops at the first failure. Answers the progress reached (all steps: done).
 */
export async function retireObjects(
  env: Env,
  work: RetireWork,
  from: number,
  budget: number,
  concurrency = 32,
): Promise<{ progress: number; done: boolean; calls: number }> {
  const all = steps(work);
  const end = Math.min(all.length, from + budget);
  let progress = from;
  let calls = 0;
  while (progress < end) {
    const chunk = all.slice(progress, Math.min(end, progress + concurrency));
    calls += chunk.length;
    const results = await Promise.allSettled(
      chunk.map(({ name, step }) => callPartition(() => step(env.PARTITION.get(env.PARTITION.idFromName(name))))),
    );
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed !== -1) return { progress: progress + failed, done: false, calls };
    progress += chunk.length;
  }
  return { progress, done: progress >= all.length, calls };
}
