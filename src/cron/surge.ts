import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import type { SubscriptionRecord, SurgeState, TopicRecord } from "../catalog/records";
import type { SurgeTarget } from "../shared/partition-api";
import {
  callPartition,
  partitionContext,
  resolveSubscriptionSpec,
  surgePartitions,
  topicPartitions,
} from "../routing/partitions";

/** Messages a source partition marks moving and copies at a time. */
const SURGE_CHUNK = 500;
/** How long one cron run lets each source partition move its backlog (short: it competes with consumers). */
const MOVE_BUDGET_MS = 2_000;
export const MAX_SURGE_PARTITIONS = 256;

export const ORDERED_SURGE_REFUSED =
  "ordered subscriptions are not surged: a key's messages would need a hand-off between partitions that keeps them one at a time, which Weir does not do yet";

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

async function surgeStep(
  env: Env,
  catalog: Catalog,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  now: number,
  report: SurgeReport,
): Promise<void> {
  const sources = topicPartitions(env, topic);
  const counts = (await Promise.all(sources.map((p) => callPartition(() => p.stub.stats())))).map((s) =>
    s.subscriptions.find((c) => c.uid === subscription.uid),
  );
  const depth = counts.reduce((n, c) => n + (c?.ready ?? 0), 0);
  const oldest = Math.min(...counts.map((c) => c?.oldestUnackedAt ?? Infinity));
  const ageSeconds = Number.isFinite(oldest) ? (now - oldest) / 1000 : 0;
  const over =
    subscription.surgeEnabled &&
    ((subscription.surgeTriggerDepth !== null && depth >= subscription.surgeTriggerDepth) ||
      (subscription.surgeTriggerAgeSeconds !== null && ageSeconds >= subscription.surgeTriggerAgeSeconds));

  const current: SurgeState = {
    surgeState: subscription.surgeState,
    surgePartitions: subscription.surgePartitions,
    surgeStartedAt: subscription.surgeStartedAt,
    surgeCalmSince: subscription.surgeCalmSince,
    surgeNote: subscription.surgeNote,
  };
  let next: SurgeState = { ...current };
  if (subscription.mode === "ordered" && current.surgeState === "off") {
    next.surgeNote = over ? ORDERED_SURGE_REFUSED : null;
  } else if (current.surgeState === "off") {
    if (over) {
      next = {
        surgeState: "active",
        surgePartitions: Math.min(subscription.surgeFactor * topic.partitions, MAX_SURGE_PARTITIONS),
        surgeStartedAt: now,
        surgeCalmSince: null,
        surgeNote: null,
      };
      report.started++;
      // Before any message moves, so that receives start reading the temporary partitions.
      await catalog.setSurge(subscription, next);
    } else {
      next.surgeNote = null;
    }
  } else if (over) {
    next = { ...next, surgeState: "active", surgeCalmSince: null };
  } else if (current.surgeState === "active") {
    next = { ...next, surgeState: "draining", surgeCalmSince: now };
  }

  if (next.surgeState !== "off") {
    const surging = { ...subscription, ...next };
    const spec = await resolveSubscriptionSpec(env, topic, surging);
    const context = partitionContext(topic, 0);
    const target: SurgeTarget = {
      generation: next.surgeStartedAt ?? 0,
      partitions: next.surgePartitions,
      // Temporary partitions hold a share of a backlog: no backlog limits of their own.
      context: { ...context, policy: { ...context.policy, maxMessages: null, maxBytes: null } },
    };
    // While active, move the backlog; while draining, only finish moves a crash left half done.
    const moved = await Promise.all(
      sources.map((p) =>
        callPartition(() =>
          p.stub.surgeMove(spec, target, {
            chunk: SURGE_CHUNK,
            budgetMs: MOVE_BUDGET_MS,
            onlyPending: next.surgeState !== "active",
          }),
        ),
      ),
    );
    report.moved += moved.reduce((n, m) => n + m.moved, 0);

    if (next.surgeState === "draining" && now - (next.surgeCalmSince ?? now) >= subscription.surgeCooldownSeconds * 1000) {
      if (await drained(env, topic, surging)) {
        await Promise.all(surgePartitions(env, topic, surging).map((p) => callPartition(() => p.stub.destroy())));
        next = { surgeState: "off", surgePartitions: 0, surgeStartedAt: null, surgeCalmSince: null, surgeNote: null };
        report.folded++;
      }
    }
  }
  if (JSON.stringify(next) !== JSON.stringify(current)) await catalog.setSurge(subscription, next);
}

/** Whether the temporary partitions hold nothing for the subscription and no move is half done. */
async function drained(env: Env, topic: TopicRecord, subscription: SubscriptionRecord): Promise<boolean> {
  const all = [...topicPartitions(env, topic), ...surgePartitions(env, topic, subscription)];
  const stats = await Promise.all(all.map((p) => callPartition(() => p.stub.stats())));
  return stats.every((s, i) => {
    const c = s.subscriptions.find((x) => x.uid === subscription.uid);
    if (!c) return true;
    const temporary = all[i]!.index >= topic.partitions;
    return c.moving === 0 && (!temporary || c.ready + c.delayed + c.inFlight + c.deadLettersPending === 0);
  });
}
