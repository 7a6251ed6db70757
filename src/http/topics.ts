import { createRoute, type z } from "@hono/zod-openapi";
import { Catalog, CatalogConflict } from "../catalog/catalog";
import { SUBSCRIPTION_DEFAULTS, TOPIC_DEFAULTS } from "../catalog/defaults";
import type { SubscriptionSettings, TopicSettings } from "../catalog/records";
import { retireNow, subscribeEverywhere } from "../routing/admin";
import { deadLetterTopicName, deadLetterTopicProblem } from "../catalog/dead-letters";
import { ApiError, invalidField, subscriptionNotFound, topicNotFound } from "./errors";
import { requireTopic, type App } from "./context";
import { subscriptionView, topicView } from "./views";
import { commonErrors, conflict, jsonBody, jsonResponse, notFound } from "./responses";
import { SubscriptionParams, TopicParams } from "./schemas/common";
import { SubscriptionListSchema, SubscriptionSchema, SubscriptionSettingsBody, TopicListSchema, TopicSchema, TopicSettingsBody } from "./schemas/topics";

const tags = ["Topics and subscriptions"];

const putTopic = createRoute({
  method: "put",
  path: "/v1/topics/{topic}",
  tags,
  summary: "Create a topic, or change its settings",
  request: { params: TopicParams, body: jsonBody(TopicSettingsBody) },
  responses: {
    200: jsonResponse(TopicSchema, "The topic existed and now has these settings"),
    201: jsonResponse(TopicSchema, "The topic was created"),
    ...commonErrors,
    ...conflict,
  },
});

const getTopic = createRoute({
  method: "get",
  path: "/v1/topics/{topic}",
  tags,
  summary: "Read a topic",
  request: { params: TopicParams },
  responses: { 200: jsonResponse(TopicSchema, "The topic"), ...commonErrors, ...notFound },
});

const deleteTopic = createRoute({
  method: "delete",
  path: "/v1/topics/{topic}",
  tags,
  summary: "Delete a topic, its subscriptions and all its messages",
  request: { params: TopicParams },
  responses: { 204: { description: "Deleted" }, ...commonErrors, ...notFound },
});

const listTopics = createRoute({
  method: "get",
  path: "/v1/topics",
  tags,
  summary: "List topics",
  responses: { 200: jsonResponse(TopicListSchema, "All topics, by name"), ...commonErrors },
});

const putSubscription = createRoute({
  method: "put",
  path: "/v1/topics/{topic}/subscriptions/{subscription}",
  tags,
  summary: "Create a subscription, or change its settings",
  request: { params: SubscriptionParams, body: jsonBody(SubscriptionSettingsBody) },
  responses: {
    200: jsonResponse(SubscriptionSchema, "The subscription existed and now has these settings"),
    201: jsonResponse(SubscriptionSchema, "The subscription was created"),
    ...commonErrors,
    ...notFound,
    ...conflict,
  },
});

const getSubscription = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/subscriptions/{subscription}",
  tags,
  summary: "Read a subscription",
  request: { params: SubscriptionParams },
  responses: { 200: jsonResponse(SubscriptionSchema, "The subscription"), ...commonErrors, ...notFound },
});

const deleteSubscription = createRoute({
  method: "delete",
  path: "/v1/topics/{topic}/subscriptions/{subscription}",
  tags,
  summary: "Delete a subscription and its delivery state",
  request: { params: SubscriptionParams },
  responses: { 204: { description: "Deleted" }, ...commonErrors, ...notFound },
});

const listSubscriptions = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/subscriptions",
  tags,
  summary: "List a topic's subscriptions",
  request: { params: TopicParams },
  responses: { 200: jsonResponse(SubscriptionListSchema, "Subscriptions, by name"), ...commonErrors, ...notFound },
});

/** The settings `body` asks for: its fields over `base` (the current settings, or the defaults). */
function topicSettings(base: TopicSettings, body: z.infer<typeof TopicSettingsBody>): TopicSettings {
  const settings: TopicSettings = {
    ...pick(base, TOPIC_DEFAULTS),
    partitions: body.partitions ?? base.partitions,
    dedupWindowSeconds: body.dedup_window_seconds ?? base.dedupWindowSeconds,
    defaultDelaySeconds: body.default_delay_seconds ?? base.defaultDelaySeconds,
    retentionSeconds: body.retention_seconds ?? base.retentionSeconds,
    messageTtlSeconds: body.message_ttl_seconds === undefined ? base.messageTtlSeconds : body.message_ttl_seconds,
    expiredAction: body.expired_action ?? base.expiredAction,
    maxMessages: body.max_messages === undefined ? base.maxMessages : body.max_messages,
    maxBytes: body.max_bytes === undefined ? base.maxBytes : body.max_bytes,
    overflow: body.overflow ?? base.overflow,
  };
  if (settings.dedupWindowSeconds > settings.retentionSeconds) {
    throw invalidField("dedup_window_seconds", `must not exceed the retention (${settings.retentionSeconds} s)`);
  }
  return settings;
}

function subscriptionSettings(
  topic: string,
  base: SubscriptionSettings,
  body: z.infer<typeof SubscriptionSettingsBody>,
): SubscriptionSettings {
  const backoff = body.retry_backoff ?? {};
  const surge = body.surge ?? {};
  const settings: SubscriptionSettings = {
    ...pick(base, SUBSCRIPTION_DEFAULTS),
    mode: body.mode ?? base.mode,
    startPosition: body.start_position ?? base.startPosition,
    visibilityTimeoutSeconds: body.visibility_timeout_seconds ?? base.visibilityTimeoutSeconds,
    maxDeliveries: body.max_deliveries ?? base.maxDeliveries,
    deadLetterTopic: body.dead_letter_topic === undefined ? base.deadLetterTopic : body.dead_letter_topic,
    backoff: backoff.kind ?? base.backoff,
    backoffInitialSeconds: backoff.initial_seconds ?? base.backoffInitialSeconds,
    backoffMaxSeconds: backoff.max_seconds ?? base.backoffMaxSeconds,
    backoffJitter: backoff.jitter ?? base.backoffJitter,
    surgeEnabled: surge.enabled ?? base.surgeEnabled,
    surgeTriggerDepth: surge.trigger_depth === undefined ? base.surgeTriggerDepth : surge.trigger_depth,
    surgeTriggerAgeSeconds: surge.trigger_age_seconds === undefined ? base.surgeTriggerAgeSeconds : surge.trigger_age_seconds,
    surgeFactor: surge.factor ?? base.surgeFactor,
    surgeCooldownSeconds: surge.cooldown_seconds ?? base.surgeCooldownSeconds,
  };
  const problem = deadLetterTopicProblem(topic, deadLetterTopicName(topic, settings));
  if (problem) throw invalidField("dead_letter_topic", problem);
  if (settings.backoffInitialSeconds > settings.backoffMaxSeconds) {
    throw invalidField("retry_backoff.initial_seconds", "must not exceed retry_backoff.max_seconds");
  }
  return settings;
}

/** The fields of `record` that `shape` has: settings without the record's identity. */
function pick<S extends object>(record: S, shape: S): S {
  const out = {} as S;
  for (const key of Object.keys(shape) as (keyof S)[]) out[key] = record[key];
  return out;
}

function asConflict(error: unknown): never {
  if (error instanceof CatalogConflict) {
    throw new ApiError("conflict", `${error.field}: ${error.message}`, [{ path: error.field, message: error.message }]);
  }
  throw error;
}

/** Admin routes for topics and subscriptions. */
export function registerTopicRoutes(app: App): void {
  app.openapi(putTopic, async (c) => {
    const { topic: name } = c.req.valid("param");
    const body = c.req.valid("json");
    const catalog = new Catalog(c.env.CATALOG);
    const settings = topicSettings((await catalog.getTopic(name)) ?? TOPIC_DEFAULTS, body);
    const { topic, created } = await catalog.putTopic(name, settings).catch(asConflict);
    return c.json(topicView(topic), created ? 201 : 200);
  });

  app.openapi(getTopic, async (c) => {
    const topic = await requireTopic(c.env, c.req.valid("param").topic);
    return c.json(topicView(topic), 200);
  });

  app.openapi(listTopics, async (c) => {
    const topics = await new Catalog(c.env.CATALOG).listTopics();
    return c.json({ topics: topics.map(topicView) }, 200);
  });

  app.openapi(deleteTopic, async (c) => {
    const { topic: name } = c.req.valid("param");
    const tombstone = await new Catalog(c.env.CATALOG).deleteTopic(name);
    if (!tombstone) throw topicNotFound(name);
    // The deletion is durable with its tombstone: what fails here, the cron finishes.
    await retireNow(c.env, tombstone);
    return c.body(null, 204);
  });

  app.openapi(putSubscription, async (c) => {
    const { topic: topicName, subscription: name } = c.req.valid("param");
    const body = c.req.valid("json");
    const topic = await requireTopic(c.env, topicName);
    const catalog = new Catalog(c.env.CATALOG);
    const settings = subscriptionSettings(
      topicName,
      (await catalog.getSubscription(topicName, name)) ?? SUBSCRIPTION_DEFAULTS,
      body,
    );
    const { subscription, created } = await catalog.putSubscription(topic, name, settings).catch(asConflict);
    await subscribeEverywhere(c.env, topic, subscription);
    return c.json(subscriptionView(subscription), created ? 201 : 200);
  });

  app.openapi(getSubscription, async (c) => {
    const { topic, subscription } = c.req.valid("param");
    const found = await new Catalog(c.env.CATALOG).getSubscription(topic, subscription);
    if (!found) {
      await requireTopic(c.env, topic);
      throw subscriptionNotFound(topic, subscription);
    }
    return c.json(subscriptionView(found), 200);
  });

  app.openapi(listSubscriptions, async (c) => {
    const { topic } = c.req.valid("param");
    await requireTopic(c.env, topic);
    const subscriptions = await new Catalog(c.env.CATALOG).listSubscriptions(topic);
    return c.json({ subscriptions: subscriptions.map(subscriptionView) }, 200);
  });

  app.openapi(deleteSubscription, async (c) => {
    const { topic: topicName, subscription: name } = c.req.valid("param");
    const topic = await requireTopic(c.env, topicName);
    const tombstone = await new Catalog(c.env.CATALOG).deleteSubscription(topic, name);
    if (!tombstone) throw subscriptionNotFound(topicName, name);
    await retireNow(c.env, tombstone);
    return c.body(null, 204);
  });
}
