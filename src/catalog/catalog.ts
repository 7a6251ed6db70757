import { CATALOG_CACHE_TTL_MS, MAX_CACHED_CATALOG_ENTRIES } from "../shared/limits";
import { TtlCache } from "./cache";
import type { RetireWork, SurgeObjects, Tombstone } from "./tombstones";
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

  /**
   * Removes the topic and its subscriptions and, in the same transaction, writes the tombstone
   * that retires its objects (partitions, running surges'). Returns the tombstone, or null.
   */
  async deleteTopic(name: string): Promise<Tombstone | null> {
    const topic = await this.readTopic(name);
    if (!topic) return null;
    const subscriptions = await this.listSubscriptions(name);
    const work: RetireWork = {
      topic: name,
      topicUid: topic.uid,
      partitions: topic.partitions,
      destroyTopic: true,
      forgetSubscription: null,
      surges: subscriptions.flatMap(surgeObjects),
    };
    const [, removed, inserted] = await this.db.batch([
      this.db.prepare("DELETE FROM subscriptions WHERE topic = ? AND EXISTS (SELECT 1 FROM topics WHERE name = ? AND uid = ?)").bind(name, name, topic.uid),
      this.db.prepare("DELETE FROM topics WHERE name = ? AND uid = ?").bind(name, topic.uid),
      this.insertTombstoneIf(work, "NOT EXISTS (SELECT 1 FROM topics WHERE uid = ?)", [topic.uid]),
    ]);
    forgetCachedTopic(name);
    if (removed!.meta.changes !== 1 || inserted!.meta.changes !== 1) return null;
    return newTombstone(inserted!, work);
  }

  /** The topic as D1 has it now, past this isolate's cache. */
  async readTopic(name: string): Promise<TopicRecord | null> {
    topicCache.delete(name);
    return this.getTopic(name);
  }

  /** The subscription as D1 has it now, past this isolate's cache (its surge state included). */
  async readSubscription(topic: string, name: string): Promise<SubscriptionRecord | null> {
    subscriptionCache.delete(subscriptionKey(topic, name));
    return this.getSubscription(topic, name);
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

  /**
   * Records the cron's view of a subscription's surge, only if the catalog still has the state
   * `expected` (compare and set: a run that read an older state changes nothing). Returns
   * whether it was recorded.
   */
  async setSurge(subscription: SubscriptionRecord, state: SurgeState, expected: SurgeState): Promise<boolean> {
    const [result] = await this.db.batch([this.surgeUpdate(subscription, state, expected)]);
    subscriptionCache.delete(subscriptionKey(subscription.topic, subscription.name));
    return result!.meta.changes === 1;
  }

  /**
   * Ends a surge (compare and set, as setSurge) and writes, in the same transaction, the
   * tombstone that retires its temporary partitions. Returns the tombstone, or null when the
   * catalog no longer had `expected`.
   */
  async endSurge(subscription: SubscriptionRecord, expected: SurgeState, retire: RetireWork): Promise<Tombstone | null> {
    const [guard, guardValues] = surgeGuard(subscription, expected);
    const [inserted, updated] = await this.db.batch([
      this.insertTombstoneIf(retire, `EXISTS (SELECT 1 FROM subscriptions WHERE ${guard})`, guardValues),
      this.surgeUpdate(subscription, SURGE_OFF_STATE, expected),
    ]);
    subscriptionCache.delete(subscriptionKey(subscription.topic, subscription.name));
    if (updated!.meta.changes !== 1 || inserted!.meta.changes !== 1) return null;
    return newTombstone(inserted!, retire);
  }

  /**
   * The statement, for a caller's D1 batch, that writes a tombstone for `work` only if
   * `condition` (SQL with `values` bound) holds when it runs: so a tombstone is written exactly
   * when the change it retires is made, in the same transaction.
   */
  private insertTombstoneIf(work: RetireWork, condition: string, values: readonly unknown[]): D1PreparedStatement {
    const now = Date.now();
    return this.db
      .prepare(`INSERT INTO tombstones (work, created_at, next_at) SELECT ?, ?, ? WHERE ${condition}`)
      .bind(JSON.stringify(work), now, now, ...values);
  }

  private surgeUpdate(subscription: SubscriptionRecord, state: SurgeState, expected: SurgeState): D1PreparedStatement {
    const columns = Object.values(SURGE_COLUMNS);
    const values = (Object.keys(SURGE_COLUMNS) as (keyof SurgeState)[]).map((k) => state[k]);
    const [guard, guardValues] = surgeGuard(subscription, expected);
    return this.db
      .prepare(`UPDATE subscriptions SET ${columns.map((c) => `${c} = ?`).join(", ")} WHERE ${guard}`)
      .bind(...values, ...guardValues);
  }

  /** Subscriptions with surge on or one running, with their topics (an index keeps this small). */
  async listSurging(): Promise<{ topic: TopicRecord; subscription: SubscriptionRecord }[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM subscriptions WHERE surge_enabled = 1 OR surge_state <> 'off' ORDER BY topic, name")
      .all<Row>();
    const subscriptions = results.map(subscriptionFromRow);
    const topics = await this.topicsNamed([...new Set(subscriptions.map((s) => s.topic))]);
    return subscriptions.flatMap((subscription) => {
      const topic = topics.get(subscription.topic);
      return topic ? [{ topic, subscription }] : [];
    });
  }

  /** The topics of these names that exist, in one query. */
  async topicsNamed(names: readonly string[]): Promise<Map<string, TopicRecord>> {
    if (names.length === 0) return new Map();
    const { results } = await this.db
      .prepare("SELECT * FROM topics WHERE name IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(names))
      .all<Row>();
    return new Map(results.map((row) => [row.name as string, topicFromRow(row)]));
  }

  /** Topics in name order from `from` on (inclusive), at most `limit`: the sweep pages through them. */
  async topicsFrom(from: string, limit: number): Promise<TopicRecord[]> {
    const { results } = await this.db
      .prepare("SELECT * FROM topics WHERE name >= ? ORDER BY name LIMIT ?")
      .bind(from, limit)
      .all<Row>();
    return results.map(topicFromRow);
  }

  /** Which of these subscription uids the catalog does not have (deleted ones), in one query. */
  async missingSubscriptions(uids: readonly string[]): Promise<string[]> {
    const { results } = await this.db
      .prepare("SELECT uid FROM subscriptions WHERE uid IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(uids))
      .all<{ uid: string }>();
    const present = new Set(results.map((r) => r.uid));
    return uids.filter((uid) => !present.has(uid));
  }

  /** The subscriptions of these topics, by topic name, in one query. */
  async subscriptionsOf(topics: readonly string[]): Promise<Map<string, SubscriptionRecord[]>> {
    const byTopic = new Map<string, SubscriptionRecord[]>(topics.map((t) => [t, []]));
    if (topics.length === 0) return byTopic;
    const { results } = await this.db
      .prepare("SELECT * FROM subscriptions WHERE topic IN (SELECT value FROM json_each(?)) ORDER BY topic, name")
      .bind(JSON.stringify(topics))
      .all<Row>();
    for (const row of results) byTopic.get(row.topic as string)?.push(subscriptionFromRow(row));
    return byTopic;
  }

  /** Records a seek, for stats. */
  async recordSeek(subscription: SubscriptionRecord, to: string): Promise<void> {
    await this.db
      .prepare("UPDATE subscriptions SET last_seek_at = ?, last_seek_to = ? WHERE uid = ?")
      .bind(Date.now(), to, subscription.uid)
      .run();
    subscriptionCache.delete(subscriptionKey(subscription.topic, subscription.name));
  }

  /**
   * Removes the subscription and, in the same transaction, writes the tombstone that makes every
   * partition of `topic` forget it and destroys its surge's temporary partitions (read from D1,
   * not the cache: a surge that started seconds ago is not missed). Returns the tombstone, or null.
   */
  async deleteSubscription(topic: TopicRecord, name: string): Promise<Tombstone | null> {
    const current = await this.readSubscription(topic.name, name);
    if (!current) return null;
    const work: RetireWork = {
      topic: topic.name,
      topicUid: topic.uid,
      partitions: topic.partitions,
      destroyTopic: false,
      forgetSubscription: current.uid,
      surges: surgeObjects(current),
    };
    const [removed, inserted] = await this.db.batch([
      this.db.prepare("DELETE FROM subscriptions WHERE topic = ? AND uid = ?").bind(topic.name, current.uid),
      this.insertTombstoneIf(work, "NOT EXISTS (SELECT 1 FROM subscriptions WHERE uid = ?)", [current.uid]),
    ]);
    subscriptionCache.delete(subscriptionKey(topic.name, name));
    if (removed!.meta.changes !== 1 || inserted!.meta.changes !== 1) return null;
    return newTombstone(inserted!, work);
  }
}

/** The tombstone `insertTombstoneIf` wrote, as the cron's retire step takes it up. */
function newTombstone(inserted: D1Result, work: RetireWork): Tombstone {
  return { id: inserted.meta.last_row_id, work, progress: 0, attempts: 0 };
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

/** The temporary partitions a subscription's surge has (none when off). */
export function surgeObjects(subscription: SubscriptionRecord): SurgeObjects[] {
  return subscription.surgeState === "off" || subscription.surgePartitions === 0
    ? []
    : [{ subscriptionUid: subscription.uid, generation: subscription.surgeStartedAt ?? 0, partitions: subscription.surgePartitions }];
}

const SURGE_OFF_STATE: SurgeState = { surgeState: "off", surgePartitions: 0, surgeStartedAt: null, surgeCalmSince: null, surgeNote: null };

/** The condition that a subscription's surge is still `expected`: the compare of compare-and-set. */
function surgeGuard(subscription: SubscriptionRecord, expected: SurgeState): [string, (string | number | null)[]] {
  return [
    "uid = ? AND surge_state = ? AND surge_partitions = ? AND surge_started_at IS ?",
    [subscription.uid, expected.surgeState, expected.surgePartitions, expected.surgeStartedAt],
  ];
}
