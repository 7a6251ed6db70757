// What every route handler needs: the app type, and the catalog lookups that answer 404.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env";
import type { Scope } from "../shared/scopes";
import { Catalog } from "../catalog/catalog";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { subscriptionNotFound, topicNotFound } from "./errors";

/** The app's bindings, and what the auth middleware leaves for handlers: the caller's scopes. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    scopes: readonly Scope[];
    /** Whether the caller's key is still valid (not revoked since): for work that outlives a check. */
    stillAuthorized: () => Promise<boolean>;
  };
};
export type App = OpenAPIHono<AppEnv>;

export async function requireTopic(env: Env, name: string): Promise<TopicRecord> {
  const topic = await new Catalog(env.CATALOG).getTopic(name);
  if (!topic) throw topicNotFound(name);
  return topic;
}

export async function requireSubscription(
  env: Env,
  topicName: string,
  name: string,
): Promise<{ topic: TopicRecord; subscription: SubscriptionRecord }> {
  const catalog = new Catalog(env.CATALOG);
  const [topic, subscription] = await Promise.all([catalog.getTopic(topicName), catalog.getSubscription(topicName, name)]);
  if (!topic) throw topicNotFound(topicName);
  if (!subscription) throw subscriptionNotFound(topicName, name);
  return { topic, subscription };
}
