import { createRoute } from "@hono/zod-openapi";
import { Catalog } from "../catalog/catalog";
import type { SubscriptionRecord } from "../catalog/records";
import { callPartition, surgePartitions, topicPartitions } from "../routing/partitions";
import type { PartitionStats, SubscriptionCounts } from "../shared/partition-api";
import { requireTopic, subscriptionView, type App } from "./context";
import { commonErrors, jsonResponse, notFound } from "./responses";
import { StatsResponse, TopicParams } from "./schemas";

const statsRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/stats",
  tags: ["Observability"],
  summary: "Depth, in-flight and delayed counts per partition and subscription",
  request: { params: TopicParams },
  responses: { 200: jsonResponse(StatsResponse, "The topic's current state"), ...commonErrors, ...notFound },
});

/** One partition's counts for one subscription, named as the API names them. */
function partitionCounts(partition: number, stats: PartitionStats, subscription: SubscriptionRecord) {
  const counts: SubscriptionCounts | undefined = stats.subscriptions.find((x) => x.uid === subscription.uid);
  return {
    partition,
    ready: counts?.ready ?? 0,
    delayed: counts?.delayed ?? 0,
    in_flight: counts?.inFlight ?? 0,
    oldest: counts?.oldestUnackedAt ?? null,
    pending: counts?.deadLettersPending ?? 0,
  };
}

/** Topic statistics, gathered from every partition (and every running surge's). */
export function registerStatsRoutes(app: App): void {
  app.openapi(statsRoute, async (c) => {
    const topic = await requireTopic(c.env, c.req.valid("param").topic);
    const [subscriptions, perPartition] = await Promise.all([
      new Catalog(c.env.CATALOG).listSubscriptions(topic.name),
      Promise.all(topicPartitions(c.env, topic).map((p) => callPartition(() => p.stub.stats()))),
    ]);
    const now = Date.now();
    const subscriptionStats = await Promise.all(
      subscriptions.map(async (sub) => {
        const temps = surgePartitions(c.env, topic, sub);
        const tempStats = await Promise.all(temps.map((p) => callPartition(() => p.stub.stats())));
        const parts = perPartition.map((s, partition) => partitionCounts(partition, s, sub));
        const temporary = tempStats.map((s, i) => partitionCounts(temps[i]!.index, s, sub));
        const all = [...parts, ...temporary];
        const oldest = Math.min(...all.map((p) => p.oldest ?? Infinity));
        const view = subscriptionView(sub);
        return {
          name: sub.name,
          mode: sub.mode,
          ready: all.reduce((n, p) => n + p.ready, 0),
          delayed: all.reduce((n, p) => n + p.delayed, 0),
          in_flight: all.reduce((n, p) => n + p.in_flight, 0),
          oldest_unacked_age_seconds: Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : null,
          dead_letters_pending: all.reduce((n, p) => n + p.pending, 0),
          last_seek: view.last_seek,
          surge: {
            ...view.surge,
            temporary: temporary.map(({ partition, ready, delayed, in_flight }) => ({ partition, ready, delayed, in_flight })),
          },
          partitions: parts.map(({ partition, ready, delayed, in_flight }) => ({ partition, ready, delayed, in_flight })),
        };
      }),
    );
    return c.json(
      {
        topic: topic.name,
        partitions: perPartition.map((s, partition) => ({
          partition,
          next_offset: s.nextOffset,
          first_offset: s.firstOffset,
          messages: s.messages,
          bytes: s.bytes,
        })),
        subscriptions: subscriptionStats,
      },
      200,
    );
  });
}
