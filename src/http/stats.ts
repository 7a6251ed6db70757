import { createRoute } from "@hono/zod-openapi";
import { topicRowCounts, topicStats, type PartitionCounts } from "../routing/admin";
import { requireTopic, type App } from "./context";
import { subscriptionView } from "./views";
import { commonErrors, jsonResponse, notFound } from "./responses";
import { TopicParams } from "./schemas/common";
import { RowCountsResponse, StatsResponse } from "./schemas/stats";

const statsRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/stats",
  tags: ["Observability"],
  summary: "Depth, in-flight and delayed counts per partition and subscription",
  request: { params: TopicParams },
  responses: { 200: jsonResponse(StatsResponse, "The topic's current state"), ...commonErrors, ...notFound },
});

const rowsRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/stats/rows",
  tags: ["Observability"],
  summary: "SQLite rows written and read per partition, as billed (docs/storage.md)",
  description:
    "Counted in each partition's memory since its object last started (an idle object is evicted and starts again at 0). " +
    "Answering runs no SQL, so reading it changes nothing it counts.",
  request: { params: TopicParams },
  responses: { 200: jsonResponse(RowCountsResponse, "Rows per partition"), ...commonErrors, ...notFound },
});

/** A partition's counts as the API names them. */
function countsView({ partition, ready, delayed, inFlight }: PartitionCounts) {
  return { partition, ready, delayed, in_flight: inFlight };
}

/** Topic statistics, gathered from every partition (and every running surge's). */
export function registerStatsRoutes(app: App): void {
  app.openapi(rowsRoute, async (c) => {
    const topic = await requireTopic(c.env, c.req.valid("param").topic);
    const counts = await topicRowCounts(c.env, topic);
    return c.json(
      {
        topic: topic.name,
        partitions: counts.map((p) => ({ partition: p.partition, rows_written: p.rowsWritten, rows_read: p.rowsRead })),
      },
      200,
    );
  });
  app.openapi(statsRoute, async (c) => {
    const topic = await requireTopic(c.env, c.req.valid("param").topic);
    const stats = await topicStats(c.env, topic);
    const now = Date.now();
    const sum = (all: PartitionCounts[], field: "ready" | "delayed" | "inFlight" | "deadLettersPending") =>
      all.reduce((n, p) => n + p[field], 0);
    return c.json(
      {
        topic: topic.name,
        partitions: stats.partitions.map((s) => ({
          partition: s.partition,
          next_offset: s.nextOffset,
          first_offset: s.firstOffset,
          messages: s.messages,
          bytes: s.bytes,
          rows_written: s.rows?.rowsWritten ?? null,
          rows_read: s.rows?.rowsRead ?? null,
        })),
        subscriptions: stats.subscriptions.map(({ subscription, partitions, temporary }) => {
          const all = [...partitions, ...temporary];
          const oldest = Math.min(...all.map((p) => p.oldestUnackedAt ?? Infinity));
          const view = subscriptionView(subscription);
          return {
            name: subscription.name,
            mode: subscription.mode,
            ready: sum(all, "ready"),
            delayed: sum(all, "delayed"),
            in_flight: sum(all, "inFlight"),
            oldest_unacked_age_seconds: Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : null,
            dead_letters_pending: sum(all, "deadLettersPending"),
            last_seek: view.last_seek,
            surge: { ...view.surge, temporary: temporary.map(countsView) },
            partitions: partitions.map(countsView),
          };
        }),
      },
      200,
    );
  });
}
