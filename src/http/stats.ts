import { createRoute } from "@hono/zod-openapi";
import { Catalog } from "../catalog/catalog";
import { callPartition, topicPartitions } from "../routing/partitions";
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

/** Topic statistics, gathered from every partition. */
export function registerStatsRoutes(app: App): void {
  app.openapi(statsRoute, async (c) => {
    const topic = await requireTopic(c.env, c.req.valid("param").topic);
    const [subscriptions, perPartition] = await Promise.all([
      new Catalog(c.env.CATALOG).listSubscriptions(topic.name),
      Promise.all(topicPartitions(c.env, topic).map((p) => callPartition(() => p.stub.stats()))),
    ]);
    const now = Date.now();
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
        subscriptions: subscriptions.map((sub) => {
          const parts = perPartition.map((s, partition) => {
            const counts = s.subscriptions.find((x) => x.uid === sub.uid);
            return {
              partition,
              ready: counts?.ready ?? 0,
              delayed: counts?.delayed ?? 0,
              in_flight: counts?.inFlight ?? 0,
              oldest: counts?.oldestUnackedAt ?? null,
              pending: counts?.deadLettersPending ?? 0,
            };
          });
          const oldest = Math.min(...parts.map((p) => p.oldest ?? Infinity));
          return {
            name: sub.name,
            mode: sub.mode,
            ready: parts.reduce((n, p) => n + p.ready, 0),
            delayed: parts.reduce((n, p) => n + p.delayed, 0),
            in_flight: parts.reduce((n, p) => n + p.in_flight, 0),
            oldest_unacked_age_seconds: Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : null,
            dead_letters_pending: parts.reduce((n, p) => n + p.pending, 0),
            last_seek: subscriptionView(sub).last_seek,
            partitions: parts.map(({ partition, ready, delayed, in_flight }) => ({ partition, ready, delayed, in_flight })),
          };
        }),
      },
      200,
    );
  });
}
