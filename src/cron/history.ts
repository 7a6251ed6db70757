import type { Env } from "../env";
import { History, type HistorySample } from "../catalog/history";
import { allTopicFigures, deadLetterDepths } from "../routing/observe";
import { HISTORY_RETENTION_MS, MAX_HISTORY_TOPICS_PER_RUN } from "../shared/limits";

/**
 * The cron's history duty, for the dashboard's charts: one sample per topic (at most
 * MAX_HISTORY_TOPICS_PER_RUN topics) into the catalog's topic_history, and samples older than
 * HISTORY_RETENTION_MS dropped. Costs one stats call per partition of the sampled topics, and
 * one D1 batch.
 */
export async function sampleHistory(env: Env, now: number = Date.now()): Promise<{ topics: number; failed: number }> {
  const { topics, failed } = await allTopicFigures(env, { fresh: true, maxTopics: MAX_HISTORY_TOPICS_PER_RUN });
  const depths = deadLetterDepths(topics);
  const samples: HistorySample[] = topics.map((t) => ({
    topic: t.topic.name,
    at: now,
    producedTotal: t.produced,
    ackedTotal: t.subscriptions.reduce((n, s) => n + s.acked, 0),
    backlog: t.subscriptions.reduce((n, s) => n + s.ready + s.delayed + s.inFlight, 0),
    inFlight: t.subscriptions.reduce((n, s) => n + s.inFlight, 0),
    deadLetters: t.subscriptions.reduce((n, s) => n + (depths.get(`${t.topic.uid}:${s.subscription.uid}`) ?? 0), 0),
  }));
  await new History(env.CATALOG).record(samples, now - HISTORY_RETENTION_MS);
  return { topics: samples.length, failed };
}
