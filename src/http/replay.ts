import { createRoute, type z } from "@hono/zod-openapi";
import { Catalog } from "../catalog/catalog";
import type { TopicRecord } from "../catalog/records";
import { seekPartitions } from "../routing/admin";
import { redrive } from "../routing/redrive";
import type { SeekTarget } from "../shared/partition-api";
import { deadLetterTopicName } from "../catalog/dead-letters";
import { MAX_REDRIVE_MESSAGES } from "../shared/limits";
import { allows } from "../shared/scopes";
import { forbidden } from "./auth";
import { ApiError, invalidField } from "./errors";
import { requireSubscription, type App } from "./context";
import { commonErrors, jsonBody, jsonResponse, notFound } from "./responses";
import { SubscriptionParams } from "./schemas/common";
import { RedriveBody, RedriveResponse, SeekBody, SeekResponse } from "./schemas/replay";

const tags = ["Consume"];
const base = "/v1/topics/{topic}/subscriptions/{subscription}";

const seekRoute = createRoute({
  method: "post",
  path: `${base}/seek`,
  tags,
  summary: "Replay from a point: earliest, latest, a time, or partition offsets",
  description:
    "Every retained message from the target on is delivered again (attempts start over); messages before it count as done. " +
    "Leases held at the time end, and their receipts are refused from then on.",
  request: { params: SubscriptionParams, body: jsonBody(SeekBody) },
  responses: { 200: jsonResponse(SeekResponse, "Where each partition now starts"), ...commonErrors, ...notFound },
});

const redriveRoute = createRoute({
  method: "post",
  path: `${base}/redrive`,
  tags,
  summary: "Move dead letters back to the subscription",
  description:
    "Each dead letter of this subscription (all, up to max, or only one reason) becomes deliverable to it again, " +
    "with fresh attempts; other subscriptions are not touched. Safe to repeat after a failure: nothing moves twice.",
  request: { params: SubscriptionParams, body: jsonBody(RedriveBody) },
  responses: { 200: jsonResponse(RedriveResponse, "How many moved"), ...commonErrors, ...notFound },
});

/** What a seek asks of each partition it concerns. */
function seekTargets(to: z.infer<typeof SeekBody>["to"], topic: TopicRecord): { partition: number; target: SeekTarget }[] {
  if (typeof to === "object") {
    return Object.entries(to).map(([key, offset]) => {
      const partition = Number(key);
      if (partition >= topic.partitions) {
        throw invalidField(`to.${key}`, `the topic has partitions 0 to ${topic.partitions - 1}`);
      }
      return { partition, target: { to: "offset", offset } };
    });
  }
  const target: SeekTarget = to === "earliest" || to === "latest" ? { to } : { to: "timestamp", atMs: Date.parse(to) };
  return Array.from({ length: topic.partitions }, (_, partition) => ({ partition, target }));
}

/** Seek and redrive: delivering again what a subscription already had. */
export function registerReplayRoutes(app: App): void {
  app.openapi(seekRoute, async (c) => {
    const params = c.req.valid("param");
    const { to } = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    // From D1, not the cache: a surge that started seconds ago must be seen (edges F-16).
    const current = await new Catalog(c.env.CATALOG).readSubscription(topic.name, subscription.name);
    if (current && current.surgeState !== "off") {
      // Part of the backlog lives in temporary partitions that a seek of the sources cannot reach.
      throw new ApiError("conflict", "the subscription is in a backlog surge; seek once it has folded back (see stats)");
    }
    const partitions = await seekPartitions(c.env, topic, subscription, seekTargets(to, topic));
    await new Catalog(c.env.CATALOG).recordSeek(subscription, typeof to === "string" ? to : JSON.stringify(to));
    return c.json({ partitions }, 200);
  });

  app.openapi(redriveRoute, async (c) => {
    const params = c.req.valid("param");
    const body = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    // A redrive changes the dead-letter topic too (it marks what it moved): it needs scope there.
    const deadLetterTopic = deadLetterTopicName(topic.name, subscription);
    const scopes = c.get("scopes");
    if (!allows(scopes, "consume", deadLetterTopic)) throw forbidden(scopes, `consume:${deadLetterTopic}`);
    const report = await redrive(c.env, topic, subscription, {
      max: body.max ?? MAX_REDRIVE_MESSAGES,
      reason: body.reason ?? null,
    });
    return c.json(report, 200);
  });
}
