import { CATALOG_CACHE_TTL_MS, MAX_CACHED_CATALOG_ENTRIES } from "../shared/limits";
import { TtlCache } from "./cache";
import { randomToken } from "../shared/ids";
import type { SubscriptionRecord, SubscriptionSettings, SurgeState, TopicRecord, TopicSettings } from "./records";

// Settings ↔ columns. A new setting is a migration, a record field and a line here.
const TOPIC_COLUMNS = {
  partitions: "partitions",
  dedupWindowSeconds: "dedup_window_seconds",
  defaultDelaySeconds: "default_delay_seconds",
  retentionSeconds: "retention_seconds",
  messageTtlSeconds: "message_ttl_seconds",
  expiredAction: "expired_action",
  maxMessages: "max_messages",
  maxBytes: "max_bytes",
  overflow: "overflow",
} as const satisfies Record<keyof TopicSettings, string>;

const SUBSCRIPTION_COLUMNS = {
  mode: "mode",
  startPosition: "start_position",
  visibilityTimeoutSeconds: "visibility_timeout_seconds",
  maxDeliveries: "max_deliveries",
  deadLetterTopic: "dead_letter_topic",
  backoff: "backoff",
  backoffInitialSeconds: "backoff_initial_seconds",
  backoffMaxSeconds: "backoff_max_seconds",
  backoffJitter: "backoff_jitter",
  surgeEnabled: "surge_enabled",
  surgeTriggerDepth: "surge_trigger_depth",
  surgeTriggerAgeSeconds: "surge_trigger_age_seconds",
  surgeFactor: "surge_factor",
  surgeCooldownSeconds: "surge_cooldown_seconds",
} as const satisfies Record<keyof SubscriptionSettings, string>;

const SURGE_COLUMNS = {
  surgeState: "surge_state",
  surgePartitions: "surge_partitions",
  surgeStartedAt: "surge_started_at",
  surgeCalmSince: "surge_calm_since",
  surgeNote: "surge_note",
} as const satisfies Record<keyof SurgeState, string>;

type Row = Record<string, unknown>;

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

// Per isolate: each Worker isolate trusts what it read for CATALOG_CACHE_TTL_MS, so a change
// made through another isolate is seen everywhere within that time. Writes through this
// isolate are seen at once.
const topicCache = new TtlCache<string, TopicRecord | null>(MAX_CACHED_CATALOG_ENTRIES);
const subscriptionCache = new TtlCache<string, SubscriptionRecord | null>(MAX_CACHED_CATALOG_ENTRIES);
const catalogTtlMs = () => CATALOG_CACHE_TTL_MS;

/** Topics and subscriptions in D1, with reads cached in memory. */
export class Catalog {
  constructor(private readonly db: D1Database) {}

  async getTopic(name: string): Promise<TopicRecord | null> {
    return topicCache.get(name, async () => {
      const row = await this.db.prepare("SELECT * FROM topics WHERE name = ?").bind(name).first<Row>();
      return row ? topicFromRow(row) : null;
    }, catalogTtlMs);
  }

  async listTopics(): Promise<TopicRecord[]> {
    const { results } = await this.db.prepare("SELECT * FROM topics ORDER BY name").all<Row>();
    return results.map(topicFromRow);
  }

  /**
   * Creates the topic with `settings`, or gives an existing one these settings. Partitions can
   * grow (keys then map onto the new count) but never shrink: that would strand messages.
   * With `onlyCreate`, an existing topic is left as it is. Throws CatalogConflict.
   */
  async putTopic(
    name: string,
    settings: TopicSettings,
    options: { onlyCreate?: boolean } = {},
  ): Promise<{ topic: TopicRecord; created: boolean }> {
    const now = Date.now();
    const columns = Object.values(TOPIC_COLUMNS);
    const values = (Object.keys(TOPIC_COLUMNS) as (keyof TopicSettings)[]).map((k) => settings[k]);
    const inserted = await this.db
      .prepare(
        `INSERT INTO topics (name, uid, created_at, updated_at, ${columns.join(", ")})
         VALUES (?, ?, ?, ?, ${columns.map(() => "?").join(", ")}) ON CONFLICT (name) DO NOTHING`,
      )
      .bind(name, randomToken(16), now, now, ...values)
      .run();
    topicCache.delete(name);
    const created = inserted.meta.changes === 1;
    if (!created && !options.onlyCreate) {
      const updated = await this.db
        .prepare(
          `UPDATE topics SET ${columns.map((c) => `${c} = ?`).join(", ")}, updated_at = ?
           WHERE name = ? AND partitions <= ?`,
        )
        .bind(...values, now, name, settings.partitions)
        .run();
      topicCache.delete(name);
      if (updated.meta.changes === 0) {
        const current = await this.getTopic(name);
        if (current) {
          throw new CatalogConflict(
            `partitions can grow but not shrink (the topic has ${current.partitions}, asked for ${settings.partitions})`,
            "partitions",
          );
        }
      }
    }
    const topic = await this.getTopic(name);
    if (!topic) throw new CatalogConflict(`topic ${name} was deleted meanwhile`, "topic");
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
    forgetCachedTopic(name);
    return { topic, subscriptions };
  }

  async getSubscription(topic: string, name: string): Promise<SubscriptionRecord | null> {
    return subscriptionCache.get(subscriptionKey(topic, name), async () => {
      const row = await this.db
        .prepare("SELECT * FROM subscriptions WHERE topic = ? AND name = ?")
        .bind(topic, name)
        .first<Row>();
      return row ? subscriptionFromRow(row) : null;
    }, catalogTtlMs);
  }

  async listSubscriptions(topic: string): Promise<SubscriptionRecord[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM subscriptions WHERE topic = ? ORDER BY name")
      .bind(topic)
      .all<Row>();
    return results.map(subscriptionFromRow);
  }

  /**
   * Names of the topics that start with `prefix`, sort after `after` and have a subscription
   * called `subscription`, by name; at most `limit`.
   */
  async listTopicsWithSubscription(subscription: string, prefix: string, after: string, limit: number): Promise<string[]> {
    const { results } = await this.db
      .prepare(
        `SELECT t.name FROM topics t JOIN subscriptions s ON s.topic = t.name AND s.name = ?
         WHERE substr(t.name, 1, length(?)) = ? AND t.name > ? ORDER BY t.name LIMIT ?`,
      )
      .bind(subscription, prefix, prefix, after, limit)
      .all<{ name: string }>();
    return results.map((row) => row.name);
  }

  /**
   * Creates the subscription with `settings`, or gives an existing one these settings.
   * `mode` and `start_position` are fixed at creation. The topic must exist.
   * Throws CatalogConflict.
   */
  async putSubscription(
    topic: TopicRecord,
    name: string,
    settings: SubscriptionSettings,
  ): Promise<{ subscription: SubscriptionRecord; created: boolean }> {
    const now = Date.now();
    const columns = Object.values(SUBSCRIPTION_COLUMNS);
    const values = (Object.keys(SUBSCRIPTION_COLUMNS) as (keyof SubscriptionSettings)[]).map((k) => {
      const value = settings[k];
      return typeof value === "boolean" ? Number(value) : value;
    });
    const inserted = await this.db
      .prepare(
        `INSERT INTO subscriptions (topic, name, uid, created_at, updated_at, ${columns.join(", ")})
         SELECT ?, ?, ?, ?, ?, ${columns.map(() => "?").join(", ")}
         WHERE EXISTS (SELECT 1 FROM topics WHERE name = ? AND uid = ?)
         ON CONFLICT (topic, name) DO NOTHING`,
      )
      .bind(topic.name, name, randomToken(16), now, now, ...values, topic.name, topic.uid)
      .run();
    const key = subscriptionKey(topic.name, name);
    subscriptionCache.delete(key);
    const created = inserted.meta.changes === 1;
    if (!created) {
      const current = await this.getSubscription(topic.name, name);
      if (!current) throw new CatalogConflict(`topic ${topic.name} was deleted meanwhile`, "topic");
      if (current.mode !== settings.mode) {
        throw new CatalogConflict(
          `mode is fixed when a subscription is created (it is ${current.mode}); delete and create it again to change it`,
          "mode",
        );
      }
      if (current.startPosition !== settings.startPosition) {
        throw new CatalogConflict(
          `start_position applies only when a subscription is created (it is ${current.startPosition}); use seek to move it`,
          "start_position",
        );
      }
      await this.db
        .prepare(`UPDATE subscriptions SET ${columns.map((c) => `${c} = ?`).join(", ")}, updated_at = ? WHERE uid = ?`)
        .bind(...values, now, current.uid)
        .run();
      subscriptionCache.delete(key);
    }
    const subscription = await this.getSubscription(topic.name, name);
    if (!subscription) throw new CatalogConflict(`topic ${topic.name} was deleted meanwhile`, "topic");
    return { subscription, created };
  }

  /** Records the cron's view of a subscription's surge. */
  async setSurge(subscription: SubscriptionRecord, state: SurgeState): Promise<void> {
    const columns = Object.values(SURGE_COLUMNS);
    const values = (Object.keys(SURGE_COLUMNS) as (keyof SurgeState)[]).map((k) => state[k]);
    await this.db
      .prepare(`UPDATE subscriptions SET ${columns.map((c) => `${c} = ?`).join(", ")} WHERE uid = ?`)
      .bind(...values, subscription.uid)
      .run();
    subscriptionCache.delete(subscriptionKey(subscription.topic, subscription.name));
  }

  /** Records a seek, for stats. */
  async recordSeek(subscription: SubscriptionRecord, to: string): Promise<void> {
    await this.db
      .prepare("UPDATE subscriptions SET last_seek_at = ?, last_seek_to = ? WHERE uid = ?")
      .bind(Date.now(), to, subscription.uid)
      .run();
    subscriptionCache.delete(subscriptionKey(subscription.topic, subscription.name));
  }

  async deleteSubscription(topic: string, name: string): Promise<SubscriptionRecord | null> {
    const current = await this.getSubscription(topic, name);
    if (!current) return null;
    await this.db.prepare("DELETE FROM subscriptions WHERE topic = ? AND uid = ?").bind(topic, current.uid).run();
    subscriptionCache.delete(subscriptionKey(topic, name));
    return current;
  }
}

/** Forgets this isolate's cached reads of a topic and its subscriptions. */
export function forgetCachedTopic(name: string): void {
  topicCache.delete(name);
  subscriptionCache.deleteWhere((key) => key.startsWith(`${name}/`));
}

function subscriptionKey(topic: string, name: string): string {
  return `${topic}/${name}`;
}

function settingsFromRow<S>(row: Row, columns: Record<keyof S, string>): S {
  const settings = {} as Record<keyof S, unknown>;
  for (const key of Object.keys(columns) as (keyof S)[]) settings[key] = row[columns[key]] ?? null;
  return settings as S;
}

function topicFromRow(row: Row): TopicRecord {
  return {
    ...settingsFromRow<TopicSettings>(row, TOPIC_COLUMNS),
    name: row.name as string,
    uid: row.uid as string,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}

function subscriptionFromRow(row: Row): SubscriptionRecord {
  const settings = settingsFromRow<SubscriptionSettings>(row, SUBSCRIPTION_COLUMNS);
  return {
    ...settings,
    ...settingsFromRow<SurgeState>(row, SURGE_COLUMNS),
    surgeEnabled: Boolean(settings.surgeEnabled),
    topic: row.topic as string,
    name: row.name as string,
    uid: row.uid as string,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
    lastSeekAt: (row.last_seek_at as number | null) ?? null,
    lastSeekTo: (row.last_seek_to as string | null) ?? null,
  };
}
