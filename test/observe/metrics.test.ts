import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { ack, call, createSubscription, createTopic, partitionStubs, produce, receive, runCron, settle } from "../helpers";

/** The value of one sample of /metrics, found by its name and labels. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf("}"));
    const have = inside.split(",");
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("/metrics", () => {
  it("counts what was produced, acked, redelivered and dead-lettered, per topic and subscription", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { max_deliveries: 2 });
    await produce(topic, [{ body: 1 }, { body: 2 }, { body: 3 }, { id: "bad", key: "b", body: 4 }]);
    const got = await receive(topic, sub, { max_messages: 10 });
    const bad = got.find((m) => m.id === "bad")!;
    await ack(topic, sub, got.filter((m) => m !== bad).map((m) => m.receipt));
    await settle("nack", topic, sub, { receipts: [bad.receipt], delay_seconds: 0 });
    const again = await receive(topic, sub, { max_messages: 10 });
    await settle("nack", topic, sub, { receipts: [again[0]!.receipt], delay_seconds: 0 });
    await receive(topic, sub);

    const r = await call("GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = r.body as string;
    const labels = { topic, subscription: sub };
    expect(sample(text, "weir_messages_produced_total", { topic })).toBe(4);
    expect(sample(text, "weir_messages_acked_total", labels)).toBe(3);
    expect(sample(text, "weir_messages_redelivered_total", labels)).toBe(1);
    expect(sample(text, "weir_messages_dead_lettered_total", { ...labels, reason: "max_deliveries" })).toBe(1);
    expect(sample(text, "weir_messages_ready", labels)).toBe(0);
    expect(sample(text, "weir_topic_partitions", { topic })).toBe(2);
    expect(sample(text, "weir_empty_leases_total", labels)).toBeGreaterThanOrEqual(1);
    expect(text).toContain("# TYPE weir_messages_acked_total counter");
  });

  it("keeps its counters in the partition's SQLite, where a restarted object finds them", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: 1 }, { body: 2 }]);
    await ack(topic, sub, (await receive(topic, sub, { max_messages: 2 })).map((m) => m.receipt));
    const [stub] = await partitionStubs(topic);
    const rows = await runInDurableObject<Partition, { name: string; value: number }[]>(stub!, (_, state) =>
      state.storage.sql.exec<{ name: string; value: number }>("SELECT name, value FROM counters ORDER BY name").toArray(),
    );
    // Produced is the partition's next offset (kept in meta by every append): no row of its own.
    expect(rows).toEqual([{ name: "acked", value: 2 }]);
  });

  it("shows a gauge of each subscription's dead letters not yet redriven", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 1 });
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [m!.receipt], dead_letter: true });
    await expect.poll(async () => (await call("GET", `/v1/topics/${topic}/subscriptions/${sub}/dead-letters`)).body.total).toBe(1);
    // A topic's figures are cached for 5 s per isolate: a scrape may show the count from before.
    await expect
      .poll(async () => sample((await call("GET", "/metrics")).body as string, "weir_dead_letters", { topic, subscription: sub }), { timeout: 8_000, interval: 500 })
      .toBe(1);
  });

  it("is refused to a key without the metrics or admin scope, and allowed with metrics", async () => {
    const key = async (scopes: string[]) => (await call("POST", "/v1/keys", { name: "k", scopes })).body.secret as string;
    expect((await call("GET", "/metrics", undefined, { token: await key(["consume:**"]) })).status).toBe(403);
    expect((await call("GET", "/metrics", undefined, { token: await key(["metrics"]) })).status).toBe(200);
    expect((await call("GET", "/metrics", undefined, { token: null })).status).toBe(401);
  });
});

describe("history", () => {
  it("gets one sample per topic from each cron run", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    await produce(topic, [{ body: 1 }, { body: 2 }]);
    await runCron();
    const r = await call("GET", `/v1/topics/${topic}/history`);
    expect(r.status).toBe(200);
    expect(r.body.samples.at(-1)).toMatchObject({ produced_total: 2, acked_total: 0, backlog: 2, in_flight: 0, dead_letters: 0 });
  });
});
