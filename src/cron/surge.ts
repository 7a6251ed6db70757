import type { Env } from "../env";
import { Catalog, surgeObjects } from "../catalog/catalog";
import type { SubscriptionRecord, SurgeState, TopicRecord } from "../catalog/records";
import type { RetireWork } from "../catalog/tombstones";
import { SURGE_CALLS_PER_RUN } from "../shared/limits";
import { retireNow } from "../routing/admin";
import { moveBacklog, observeBacklog, surgeDrained } from "../routing/surge";
import { currentSurge, nextSurgeState, sameSurge } from "./surge-policy";

export interface SurgeReport {
  checked: number;
  started: number;
  folded: number;
  moved: number;
  /** Object calls made; the step stops taking subscriptions past SURGE_CALLS_PER_RUN. */
  calls: number;
  /** Subscriptions left for the next run (the budget ran out). */
  deferred: number;
}

/**
 * The cron's surge step for the subscriptions that have surge on or one running (an index
 * finds them; the others cost nothing): start a surge when the backlog is over the trigger,
 * move the backlog into the temporary partitions while it is, and fold back once the trigger
 * has stayed clear for the cool-down and the temporary partitions are empty. docs/surge.md
 * tells the whole story. Each subscription's step is its own: one that fails is logged and the
 * others go on. `after` is where the previous run stopped (a subscription uid), so that a budget
 * too small for all of them still reaches each in turn; the report says where this one stopped.
 */
export async function runSurges(env: Env, now: number = Date.now(), after: string | null = null): Promise<SurgeReport & { last: string | null }> {
  const catalog = new Catalog(env.CATALOG);
  const report: SurgeReport & { last: string | null } = { checked: 0, started: 0, folded: 0, moved: 0, calls: 0, deferred: 0, last: null };
  const surging = await catalog.listSurging();
  // Go on after the one the previous run did last, wrapping around.
  const start = after === null ? 0 : surging.findIndex((s) => s.subscription.uid > after);
  const ordered = start <= 0 ? surging : [...surging.slice(start), ...surging.slice(0, start)];
  for (const [i, { topic, subscription }] of ordered.entries()) {
    if (report.calls >= SURGE_CALLS_PER_RUN) {
      report.deferred = ordered.length - i;
      break;
    }
    report.checked++;
    report.last = subscription.uid;
    try {
      await surgeStep(env, catalog, topic, subscription, now, report);
    } catch (error) {
      console.error(JSON.stringify({ event: "surge_step_failed", topic: topic.name, message: String(error) }));
    }
  }
  return report;
}

/**
 * One subscription: observe, decide (surge-policy.ts), then do what the decision says. Every
 * change of state is a compare-and-set against what this step read, so a step that raced
 * another (or a deletion) changes nothing; a fold-back writes the tombstone of the temporary
 * partitions with its state change, and only then destroys them, so that no generation is ever
 * used again after its partitions were destroyed.
 */
async function surgeStep(
  env: Env,
  catalog: Catalog,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  now: number,
  report: SurgeReport,
): Promise<void> {
  report.calls += topic.partitions;
  const observed = await observeBacklog(env, topic, subscription);
  const decision = nextSurgeState(subscription, topic.partitions, observed, now);
  let recorded: SurgeState = currentSurge(subscription);
  if (decision.started) {
    if (!(await catalog.setSurge(subscription, decision.next, recorded))) return;
    report.started++;
    recorded = decision.next;
  }
  let next = decision.next;
  if (decision.move !== "none") {
    const surging: SubscriptionRecord = { ...subscription, ...next };
    report.calls += topic.partitions;
    report.moved += await moveBacklog(env, topic, surging, decision.move === "pending");
    if (decision.foldWhenDrained) {
      report.calls += topic.partitions + surging.surgePartitions;
      if (await surgeDrained(env, topic, surging)) {
        const retire: RetireWork = {
          topic: topic.name,
          topicUid: topic.uid,
          partitions: 0,
          destroyTopic: false,
          forgetSubscription: null,
          surges: surgeObjects(surging),
        };
        const tombstone = await catalog.endSurge(subscription, recorded, retire);
        if (!tombstone) return;
        report.folded++;
        report.calls += surging.surgePartitions;
        await retireNow(env, tombstone);
        return;
      }
    }
  }
  if (!sameSurge(next, recorded)) await catalog.setSurge(subscription, next, recorded);
}
