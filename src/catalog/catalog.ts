import { CATALOG_CACHE_TTL_MS } from "../shared/limits";
import { randomToken } from "../shared/ids";
import type {
  SubscriptionRecord,
  SubscriptionSettings,
  TopicRecord,
  TopicSettings,
} from "./records";

type TopicRow = { name: string; uid: string; partitions: number; created_at: number; updated_at: number };
type SubscriptionRow = {
  topic: string;
  name: string;
  uid: string;
  mode: "shared" | "ordered";
  start_position: "earliest" | "latest";
  visibility_timeout_seconds: number;
  max_deliveries: number;
  created_at: number;
  updated_at: number;
};

/** Why a change to an existing resource cannot apply. */
export class CatalogConflict extends Error {
  override readonly name = "CatalogConflict";
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

interface Cached<T> {
  value: T;
  expiresAt: number;
}

// Per isolate: each Worker isolate trusts what it read for CATALOG_CACHE_TTL_MS, so a change
// made through another isolate is seen everywhere within that time. Writes through this
// isolate are seen at once.
const MAX_CACHED = 10_000;
const topicCache = new Map<string, Cached<TopicRecord | null>>();
const subscriptionCache = new Map<string, Cached<SubscriptionRecord | null>>();

/** Topics and subscriptions in D1, with reads cached in memory. */
export class Catalog {
  constructor(private readonly db: D1Database) {}

  async getTopic(name: string): Promise<TopicRecord | null> {
    return cached(topicCache, name, async () => {
      const row = await this.db.prepare("SELECT * FROM topics WHERE name = ?").bind(name).first<TopicRow>();
      return row ? topicFromRow(row) : null;
    });
  }

  async listTopics(): Promise<TopicRecord[]> {
    const { results } = await this.db.prepare("SELECT * FROM topics ORDER BY name").all<TopicRow>();
    return results.map(topicFromRow);
  }

  /**
   * Creates the topic, or changes an existing one. Partitions can grow (keys then map to new
   * partitions) but never shrink: that would strand messages. Throws CatalogConflict.
   */
  async putTopic(name: string, settings: TopicSettings): Promise<{ topic: TopicRecord; created: boolean }> {
    const now = Date.now();
    const inserted = await this.db
      .prepare(
        "INSERT INTO topics (name, uid, partitions, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
      )
      .bind(name, randomToken(16), settings.partitions, now, now)
      .run();
    topicCache.delete(name);
    const created = inserted.meta.changes === 1;
    if (!created) {
      const current = await this.getTopic(name);
      if (!current) throw new Error(`topic ${name} vanished while it was being changed`);
      if (settings.partitions < current.partitions) {
        throw new CatalogConflict(
          `partitions can grow but not shrink (the topic has ${current.partitions}, asked for ${settings.partitions})`,
          "partitions",
        );
      }
      if (settings.partitions !== current.partitions) {
        await this.db
          .prepare("UPDATE topics SET partitions = ?, updated_at = ? WHERE name = ?")
          .bind(settings.partitions, now, name)
          .run();
        topicCache.delete(name);
      }
    }
    const topic = await this.getTopic(name);
    if (!topic) throw new Error(`topic ${name} vanished while it was being changed`);
    return { topic, created };
  }

  /** Removes the topic and its subscriptions; returns what was removed, or null. */
  async deleteTopic(name: string): Promise<{ topic: TopicRecord; subscriptions: SubscriptionRecord[] } | null> {
    const topic = await this.getTopic(name);
    if (!topic) return null;
    const subscriptions = await this.listSubscriptions(name);
    await this.db.batch([
      this.db.prepare("DELETE FROM subscriptions WHERE topic = ?").bind(name),
      this.db.prepare("DELETE FROM topics WHERE name = ? AND uid = ?").bind(name, topic.uid),
    ]);
    topicCache.delete(name);
    for (const s of subscriptions) subscriptionCache.delete(subscriptionKey(name, s.name));
    return { topic, subscriptions };
  }

  async getSubscription(topic: string, name: string): Promise<SubscriptionRecord | null> {
    return cached(subscriptionCache, subscriptionKey(topic, name), async () => {
      const row = await this.db
        .prepare("SELECT * FROM subscriptions WHERE topic = ? AND name = ?")
        .bind(topic, name)
        .first<SubscriptionRow>();
      return row ? subscriptionFromRow(row) : null;
    });
  }

  async listSubscriptions(topic: string): Promise<SubscriptionRecord[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM subscriptions WHERE topic = ? ORDER BY name")
      .bind(topic)
      .all<SubscriptionRow>();
    return results.map(subscriptionFromRow);
  }

  /** Every subscription uid of the listed topics, for the cron sweep. */
  async subscriptionUidsByTopic(): Promise<Map<string, string[]>> {
    const { results } = await this.db
      .prepare("SELECT topic, uid FROM subscriptions")
      .all<{ topic: string; uid: string }>();
    const byTopic = new Map<string, string[]>();
    for (const row of results) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row.uid]);
    return byTopic;
  }

  /**
   * Creates the subscription, or changes an existing one. `mode` and `start_position` are
   * fixed at creation. The topic must exist. Throws CatalogConflict.
   */
  async putSubscription(
    topic: TopicRecord,
    name: string,
    settings: SubscriptionSettings,
  ): Promise<{ subscription: SubscriptionRecord; created: boolean }> {
    const now = Date.now();
    const inserted = await this.db
      .prepare(
        `INSERT INTO subscriptions (topic, name, uid, mode, start_position, visibility_timeout_seconds,
           max_deliveries, created_at, updated_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM topics WHERE name = ? AND uid = ?)
         ON CONFLICT (topic, name) DO NOTHING`,
      )
      .bind(
        topic.name,
        name,
        randomToken(16),
        settings.mode,
        settings.startPosition,
        settings.visibilityTimeoutSeconds,
        settings.maxDeliveries,
        now,
        now,
        topic.name,
        topic.uid,
      )
      .run();
    const key = subscriptionKey(topic.name, name);
    subscriptionCache.delete(key);
    const created = inserted.meta.changes === 1;
    const current = await this.getSubscription(topic.name, name);
    if (!current) throw new CatalogConflict(`topic ${topic.name} was deleted meanwhile`, "topic");
    if (!created) {
      if (current.mode !== settings.mode) {
        throw new CatalogConflict(
          `mode is fixed when a subscription is created (it is ${current.mode}); delete and create it again to change it`,
          "mode",
        );
      }
      if (current.startPosition !== settings.startPosition) {
        throw new CatalogConflict(
          `start_position applies only when a subscription is created (it is ${current.startPosition})`,
          "start_position",
        );
      }
      await this.db
        .prepare(
          "UPDATE subscriptions SET visibility_timeout_seconds = ?, max_deliveries = ?, updated_at = ? WHERE topic = ? AND name = ?",
        )
        .bind(settings.visibilityTimeoutSeconds, settings.maxDeliveries, now, topic.name, name)
        .run();
      subscriptionCache.delete(key);
    }
    const subscription = await this.getSubscription(topic.name, name);
    if (!subscription) throw new CatalogConflict(`topic ${topic.name} was deleted meanwhile`, "topic");
    return { subscription, created };
  }

  async deleteSubscription(topic: string, name: string): Promise<SubscriptionRecord | null> {
    const current = await this.getSubscription(topic, name);
    if (!current) return null;
    await this.db.prepare("DELETE FROM subscriptions WHERE topic = ? AND uid = ?").bind(topic, current.uid).run();
    subscriptionCache.delete(subscriptionKey(topic, name));
    return current;
  }
}

/** Forgets every cached read of this isolate (tests, and after a topic was seen deleted). */
export function forgetCachedTopic(name: string): void {
  topicCache.delete(name);
  for (const key of subscriptionCache.keys()) if (key.startsWith(`${name}/`)) subscriptionCache.delete(key);
}

async function cached<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  const now = Date.now();
  if (hit && hit.expiresAt > now) return hit.value;
  const value = await load();
  // Unknown names are cached too; bound the map so that a stream of them cannot grow it.
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, { value, expiresAt: now + CATALOG_CACHE_TTL_MS });
  return value;
}

function subscriptionKey(topic: string, name: string): string {
  return `${topic}/${name}`;
}

function topicFromRow(row: TopicRow): TopicRecord {
  return {
    name: row.name,
    uid: row.uid,
    partitions: row.partitions,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function subscriptionFromRow(row: SubscriptionRow): SubscriptionRecord {
  return {
    topic: row.topic,
    name: row.name,
    uid: row.uid,
    mode: row.mode,
    startPosition: row.start_position,
    visibilityTimeoutSeconds: row.visibility_timeout_seconds,
    maxDeliveries: row.max_deliveries,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
