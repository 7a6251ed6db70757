import type { Env } from "../env";
import { Tombstones } from "../catalog/tombstones";
import { RETIRE_CALLS_PER_RUN } from "../shared/limits";
import { retireObjects } from "../routing/retire";

export interface TombstoneReport {
  retired: number;
  pending: number;
  calls: number;
}

/**
 * Finishes the deletions that their requests could not (an object was unavailable, or there
 * were more objects than a request may call): the due tombstones, oldest first, up to
 * RETIRE_CALLS_PER_RUN object calls. One that fails waits longer each time (retryDelayMs).
 */
export async function retireTombstones(env: Env, now: number = Date.now()): Promise<TombstoneReport> {
  const tombstones = new Tombstones(env.CATALOG);
  const report: TombstoneReport = { retired: 0, pending: 0, calls: 0 };
  for (const tombstone of await tombstones.due(now, 20)) {
    const budget = RETIRE_CALLS_PER_RUN - report.calls;
    if (budget <= 0) {
      report.pending++;
      continue;
    }
    try {
      const result = await retireObjects(env, tombstone.work, tombstone.progress, budget);
      report.calls += result.calls;
      if (result.done) {
        await tombstones.done(tombstone.id);
        report.retired++;
      } else {
        await tombstones.later(tombstone, result.progress, now);
        report.pending++;
      }
    } catch (error) {
      report.pending++;
      console.error(JSON.stringify({ event: "retire_failed", topic: tombstone.work.topic, message: String(error) }));
    }
  }
  return report;
}
