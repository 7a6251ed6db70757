import type { Env } from "../env";
import { Catalog } from "../catalog/catalog";
import { History, type HistorySample } from "../catalog/history";
import type { TopicRecord } from "../catalog/records";
import { allTopicFigures, deadLetterDepths } from "../routing/observe";
import { HISTORY_CALLS_PER_RUN, HISTORY_RETENTION_MS, MAX_HISTORY_TOPICS_PER_RUN } from "../shared/limits";

/**
 * Which topics this minute's run samples: up to MAX_HISTORY_TOPICS_PER_RUN, within
 * HISTORY_CALLS_PER_RUN subrequests (1 catalog read + 1 stats call per partition each), starting
 * at a place that moves with the minute, so a fleet too big for one run is sampled in turns.
 * A topic too big for the budget on its own is never sampled. Pure.
 */
export function historyTopics(topics: readonly TopicRecord[], minute: number): TopicRecord[] {
  if (topics.length === 0) return [];
  const turns = Math.ceil(topics.length / MAX_HISTORY_TOPICS_PER_RUN);
  const start = (minute % turns) * MAX_HISTORY_TOPICS_PER_RUN;
  const chosen: TopicRecord[] = [];
  let calls = 0;
  for (let i = 0; i < topics.length && chosen.length < MAX_HISTORY_TOPICS_PER_RUN; i++) {
    const topic = topics[(start + i) % topics.length]!;
    const cost = 1 + topic.partitions;
    if (calls + cost > HISTORY_CALLS_PER_RUN) continue;
    chosen.push(topic);
    calls += cost;
  }
  return chosen;
}

/**
 * The cron's history duty, for the dashboard's charts: one sample per chosen topic
 * (historyTopics) into the catalog's topic_history, and samples older than
 * HISTORY_RETENTION_MS dropped, in one D1 batch. At most HISTORY_CALLS_PER_RUN subrequests
 * (plus the surge partitions of topics in a surge) and the catalog's topic list.
 */
export async function sampleHistory(env: Env, now: number = Date.now()): Promise<{ topics: number; failed: number }> {
  const chosen = historyTopics(await new Catalog(env.CATALOG).listTopics(), Math.floor(now / 60_000));
  if (chosen.length === 0) return { topics: 0, failed: 0 };
  const { topics, failed } = await allTopicFigures(env, { fresh: true, topics: chosen });
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
