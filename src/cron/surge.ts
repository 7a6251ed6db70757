import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { destroySurgePartitions, moveBacklog, observeBacklog, surgeDrained } from "../routing/surge";
import { currentSurge, nextSurgeState, sameSurge, SURGE_OFF } from "./surge-policy";

export interface SurgeReport {
  checked: number;
  started: number;
  folded: number;
  moved: number;
}

/**
 * The cron's surge step for every subscription that has surge on (or one running): start a
 * surge when the backlog is over the trigger, move the backlog into the temporary partitions
 * while it is, and fold back once the trigger has stayed clear for the cool-down and the
 * temporary partitions are empty. docs/surge.md tells the whole story.
 */
export async function runSurges(env: Env, now: number = Date.now()): Promise<SurgeReport> {
  const catalog = new Catalog(env.CATALOG);
  const report: SurgeReport = { checked: 0, started: 0, folded: 0, moved: 0 };
  for (const topic of await catalog.listTopics()) {
    const subscriptions = (await catalog.listSubscriptions(topic.name)).filter(
      (s) => s.surgeEnabled || s.surgeState !== "off",
    );
    for (const subscription of subscriptions) {
      report.checked++;
      try {
        await surgeStep(env, catalog, topic, subscription, now, report);
      } catch (error) {
        console.error(JSON.stringify({ event: "surge_step_failed", topic: topic.name, message: String(error) }));
      }
    }
  }
  return report;
}

/** One subscription: observe, decide (surge-policy.ts), then do what the decision says. */
async function surgeStep(
  env: Env,
  catalog: Catalog,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  now: number,
  report: SurgeReport,
): Promise<void> {
  const observed = await observeBacklog(env, topic, subscription);
  const decision = nextSurgeState(subscription, topic.partitions, observed, now);
  let next = decision.next;
  if (decision.started) {
    report.started++;
    await catalog.setSurge(subscription, next);
  }
  if (decision.move !== "none") {
    const surging: SubscriptionRecord = { ...subscription, ...next };
    report.moved += await moveBacklog(env, topic, surging, decision.move === "pending");
    if (decision.foldWhenDrained && (await surgeDrained(env, topic, surging))) {
      await destroySurgePartitions(env, topic, surging);
      next = SURGE_OFF;
      report.folded++;
    }
  }
  const recorded = decision.started ? decision.next : currentSurge(subscription);
  if (!sameSurge(next, recorded)) await catalog.setSurge(subscription, next);
}
