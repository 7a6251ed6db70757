import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SQS_QUEUE_DEFAULTS, SUBSCRIPTION_DEFAULTS, TOPIC_DEFAULTS } from "../../src/shared/defaults";
import { call, createTopic, uniqueName } from "../helpers";

/** The column defaults D1 has for `table`, as SQL text (e.g. "86400", "'drop'"). */
async function columnDefaults(table: string): Promise<Map<string, string | null>> {
  const { results } = await env.CATALOG.prepare(`PRAGMA table_info(${table})`).all<{ name: string; dflt_value: string | null }>();
  return new Map(results.map((r) => [r.name, r.dflt_value]));
}

const sqlText = (value: string | number | boolean | null) =>
  value === null ? null : typeof value === "string" ? `'${value}'` : typeof value === "boolean" ? String(Number(value)) : String(value);

describe("defaults", () => {
  it("of the migrations' columns are the defaults of src/shared/defaults.ts", async () => {
    const topics = await columnDefaults("topics");
    expect(topics.get("dedup_window_seconds")).toBe(sqlText(TOPIC_DEFAULTS.dedupWindowSeconds));
    expect(topics.get("default_delay_seconds")).toBe(sqlText(TOPIC_DEFAULTS.defaultDelaySeconds));
    expect(topics.get("retention_seconds")).toBe(sqlText(TOPIC_DEFAULTS.retentionSeconds));
    expect(topics.get("expired_action")).toBe(sqlText(TOPIC_DEFAULTS.expiredAction));
    expect(topics.get("overflow")).toBe(sqlText(TOPIC_DEFAULTS.overflow));
    const subscriptions = await columnDefaults("subscriptions");
    expect(subscriptions.get("backoff")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.backoff));
    expect(subscriptions.get("backoff_initial_seconds")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.backoffInitialSeconds));
    expect(subscriptions.get("backoff_max_seconds")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.backoffMaxSeconds));
    expect(subscriptions.get("backoff_jitter")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.backoffJitter));
    expect(subscriptions.get("surge_enabled")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.surgeEnabled));
    expect(subscriptions.get("surge_factor")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.surgeFactor));
    expect(subscriptions.get("surge_cooldown_seconds")).toBe(sqlText(SUBSCRIPTION_DEFAULTS.surgeCooldownSeconds));
    const queues = await columnDefaults("sqs_queues");
    expect(queues.get("receive_wait_seconds")).toBe(sqlText(SQS_QUEUE_DEFAULTS.receiveWaitSeconds));
    expect(queues.get("content_based_deduplication")).toBe(sqlText(SQS_QUEUE_DEFAULTS.contentBasedDeduplication));
  });

  it("are what a topic and a subscription created with an empty body get, and what the OpenAPI document states", async () => {
    const topic = await createTopic(1);
    const created = await call("GET", `/v1/topics/${topic}`);
    expect(created.body).toMatchObject({
      dedup_window_seconds: TOPIC_DEFAULTS.dedupWindowSeconds,
      retention_seconds: TOPIC_DEFAULTS.retentionSeconds,
      overflow: TOPIC_DEFAULTS.overflow,
    });
    const sub = await call("PUT", `/v1/topics/${topic}/subscriptions/${uniqueName("s")}`, {});
    expect(sub.body).toMatchObject({
      mode: SUBSCRIPTION_DEFAULTS.mode,
      visibility_timeout_seconds: SUBSCRIPTION_DEFAULTS.visibilityTimeoutSeconds,
      max_deliveries: SUBSCRIPTION_DEFAULTS.maxDeliveries,
      retry_backoff: { kind: SUBSCRIPTION_DEFAULTS.backoff, max_seconds: SUBSCRIPTION_DEFAULTS.backoffMaxSeconds },
      surge: { factor: SUBSCRIPTION_DEFAULTS.surgeFactor, trigger_depth: SUBSCRIPTION_DEFAULTS.surgeTriggerDepth },
    });
    const doc = (await call("GET", "/openapi.json")).body;
    const settings = doc.components.schemas.SubscriptionSettings.properties;
    expect(settings.visibility_timeout_seconds.default).toBe(SUBSCRIPTION_DEFAULTS.visibilityTimeoutSeconds);
    expect(doc.components.schemas.TopicSettings.properties.retention_seconds.default).toBe(TOPIC_DEFAULTS.retentionSeconds);
  });
});
