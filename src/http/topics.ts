import { createRoute } from "@hono/zod-openapi";
import { Catalog, CatalogConflict } from "../catalog/catalog";
import { callPartition, subscriptionSpec, topicPartitions } from "../routing/partitions";
import { ApiError, subscriptionNotFound, topicNotFound } from "./errors";
import { requireTopic, subscriptionView, topicView, type App } from "./context";
import { commonErrors, conflict, jsonBody, jsonResponse, notFound } from "./responses";
import {
  SubscriptionListSchema,
  SubscriptionParams,
  SubscriptionSchema,
  SubscriptionSettingsBody,
  TopicListSchema,
  TopicParams,
  TopicSchema,
  TopicSettingsBody,
} from "./schemas";

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
    const settings = c.req.valid("json");
    const { topic, created } = await new Catalog(c.env.CATALOG)
      .putTopic(name, { partitions: settings.partitions })
      .catch(asConflict);
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
    const removed = await new Catalog(c.env.CATALOG).deleteTopic(name);
    if (!removed) throw topicNotFound(name);
    // The catalog no longer names the topic; now empty its partitions and make them refuse
    // writes from isolates whose cache still knows the topic.
    await Promise.all(topicPartitions(c.env, removed.topic).map((p) => callPartition(() => p.stub.destroy())));
    return c.body(null, 204);
  });

  app.openapi(putSubscription, async (c) => {
    const { topic: topicName, subscription: name } = c.req.valid("param");
    const settings = c.req.valid("json");
    const topic = await requireTopic(c.env, topicName);
    const { subscription, created } = await new Catalog(c.env.CATALOG)
      .putSubscription(topic, name, {
        mode: settings.mode,
        startPosition: settings.start_position,
        visibilityTimeoutSeconds: settings.visibility_timeout_seconds,
        maxDeliveries: settings.max_deliveries,
      })
      .catch(asConflict);
    if (created) {
      // Partitions also learn of a subscription on its first receive; telling them now makes
      // produce record deliveries for it from the start.
      const spec = subscriptionSpec(subscription);
      await Promise.all(topicPartitions(c.env, topic).map((p) => callPartition(() => p.stub.subscribe(spec))));
    }
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
    const removed = await new Catalog(c.env.CATALOG).deleteSubscription(topicName, name);
    if (!removed) throw subscriptionNotFound(topicName, name);
    // If a partition misses this, the cron sweep drops the orphaned state within a minute.
    await Promise.allSettled(topicPartitions(c.env, topic).map((p) => p.stub.unsubscribe(removed.uid)));
    return c.body(null, 204);
  });
}
