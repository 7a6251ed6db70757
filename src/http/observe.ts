import { createRoute } from "@hono/zod-openapi";
import { History } from "../catalog/history";
import { browseDeadLetters } from "../routing/observe";
import { requireSubscription, requireTopic, type App } from "./context";
import { commonErrors, jsonResponse, notFound } from "./responses";
import { SubscriptionParams, TopicParams } from "./schemas/common";
import { DeadLettersQuery, DeadLettersResponse, HistoryQuery, HistoryResponse } from "./schemas/observe";

const historyRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/history",
  tags: ["Observability"],
  summary: "The topic's samples of the last hour (one a minute, taken by the cron), for charts",
  request: { params: TopicParams, query: HistoryQuery },
  responses: { 200: jsonResponse(HistoryResponse, "Samples, oldest first"), ...commonErrors, ...notFound },
});

const deadLettersRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/subscriptions/{subscription}/dead-letters",
  tags: ["Observability"],
  summary: "The subscription's dead letters not yet redriven: reason, attempts, a body preview",
  description: "Reads without leasing. Costs two calls per partition of the dead-letter topic. Move them back with …/redrive.",
  request: { params: SubscriptionParams, query: DeadLettersQuery },
  responses: { 200: jsonResponse(DeadLettersResponse, "The oldest dead letters first"), ...commonErrors, ...notFound },
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The dashboard's reads beside stats: history and the dead-letter browser. */
export function registerObserveRoutes(app: App): void {
  app.openapi(historyRoute, async (c) => {
    const topic = await requireTopic(c.env, c.req.valid("param").topic);
    const minutes = c.req.valid("query").minutes ?? 60;
    const samples = await new History(c.env.CATALOG).of(topic.name, Date.now() - minutes * 60_000);
    return c.json(
      {
        topic: topic.name,
        samples: samples.map((s) => ({
          at: iso(s.at),
          produced_total: s.producedTotal,
          acked_total: s.ackedTotal,
          backlog: s.backlog,
          in_flight: s.inFlight,
          dead_letters: s.deadLetters,
        })),
      },
      200,
    );
  });

  app.openapi(deadLettersRoute, async (c) => {
    const params = c.req.valid("param");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const page = await browseDeadLetters(c.env, topic, subscription, c.req.valid("query").max ?? 20);
    return c.json(
      {
        dead_letter_topic: page.topic,
        total: page.total,
        dead_letters: page.entries.map((e) => ({
          id: e.id,
          partition: e.partition,
          offset: e.offset,
          reason: e.reason,
          attempts: e.attempts,
          dead_lettered_at: e.deadLetteredAt,
          body_preview: e.bodyPreview,
          body_truncated: e.bodyTruncated,
        })),
      },
      200,
    );
  });
}
