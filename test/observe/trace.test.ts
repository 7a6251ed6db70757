import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { ack, call, controlTime, createSubscription, createTopic, drain, partitionStubs, produce, receive, runCron, settle } from "../helpers";

/** Rows written into trace_events of a partition. */
async function traceRows(stub: DurableObjectStub<Partition>): Promise<number> {
  return runInDurableObject<Partition, number>(stub, (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM trace_events").one().n);
}

describe("message trace", () => {
  it("shows a produced, leased and acked message from the log alone, writing no trace row", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "happy", key: "k", headers: { h: "v" }, body: { n: 1 } }]);
    const [m] = await receive(topic, sub);
    await ack(topic, sub, [m!.receipt]);

    const r = await call("GET", `/v1/topics/${topic}/messages/happy`);
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({ id: "happy", key: "k", headers: { h: "v" }, body: { n: 1 }, partition: 0, offset: 0, state: "stored" });
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "acked", attempts: 1 }]);
    expect(r.body.trace.map((e: { event: string }) => e.event)).toEqual(["produced", "leased", "acked"]);
    expect(await traceRows((await partitionStubs(topic))[0]!)).toBe(0);
    // The lease and the ack have their times, from the run that leased it (no trace row).
    for (const event of r.body.trace as { at: string | null }[]) expect(event.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("shows the time of the lease held now", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "held", body: 1 }]);
    await receive(topic, sub);
    const r = await call("GET", `/v1/topics/${topic}/messages/held`);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "leased", attempts: 1 }]);
    const lease = (r.body.trace as { event: string; at: string | null }[]).find((e) => e.event === "leased");
    expect(lease?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("records a nack with its reason, a lease that ran out, and the lease held now", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 10, max_deliveries: 5 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "bumpy", body: 1 }]);
    const [first] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [first!.receipt], delay_seconds: 0, reason: "db down" });
    await receive(topic, sub);
    await advance(11_000);
    await receive(topic, sub);

    const r = await call("GET", `/v1/topics/${topic}/messages/bumpy`);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "leased", attempts: 3 }]);
    const events = r.body.trace.map((e: { event: string; attempt?: number }) => `${e.event}${e.attempt ?? ""}`);
    expect(events).toEqual(["produced", "leased1", "nacked1", "leased2", "lease_expired2", "leased3"]);
    const nack = r.body.trace.find((e: { event: string }) => e.event === "nacked");
    expect(nack).toMatchObject({ subscription: sub, detail: { reason: "db down", delay_ms: 0 } });
    expect(typeof nack.at).toBe("string");
    // The lease end is a time like every `at`: ISO-8601.
    const leaseEnd = r.body.trace.at(-1).detail.lease_end as string;
    expect(new Date(leaseEnd).toISOString()).toBe(leaseEnd);
  });

  it("shows a dead-lettered message and its redrive", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 1 });
    await produce(topic, [{ id: "dead", body: 1 }]);
    const [m] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [m!.receipt], reason: "bad" });
    let r = await call("GET", `/v1/topics/${topic}/messages/dead`);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "dead_lettered", attempts: 1 }]);
    expect(r.body.trace.at(-1)).toMatchObject({ event: "dead_lettered", detail: { reason: "max_deliveries" } });

    // The dead letter reaches its topic without waiting (the outbox is forwarded after the nack).
    await expect.poll(async () => (await call("GET", `/v1/topics/${topic}/subscriptions/${sub}/dead-letters`)).body.total).toBe(1);
    const browse = await call("GET", `/v1/topics/${topic}/subscriptions/${sub}/dead-letters`);
    expect(browse.body.dead_letters[0]).toMatchObject({ id: "dead", reason: "max_deliveries", attempts: 1, body_preview: "1", body_truncated: false });

    expect((await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, {})).body.moved).toBe(1);
    r = await call("GET", `/v1/topics/${topic}/messages/dead`);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "ready", attempts: 0 }]);
    expect(r.body.trace.at(-1)).toMatchObject({ event: "redriven", subscription: sub });
    expect((await call("GET", `/v1/topics/${topic}/subscriptions/${sub}/dead-letters`)).body.total).toBe(0);
  });

  it("records an extend with its new lease end, and a TTL expiry", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 30 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "slow", body: 1 }, { id: "stale", body: 2, ttl_seconds: 5 }]);
    const [slow] = await receive(topic, sub);
    expect(slow!.id).toBe("slow");
    await settle("extend", topic, sub, { receipts: [slow!.receipt], visibility_timeout_seconds: 120 });
    let r = await call("GET", `/v1/topics/${topic}/messages/slow`);
    expect(r.body.trace.map((e: { event: string }) => e.event)).toEqual(["produced", "leased", "extended"]);
    const leaseEnd = r.body.trace[2].detail.lease_end as string;
    expect(new Date(leaseEnd).toISOString()).toBe(leaseEnd);
    expect(Date.parse(leaseEnd) - Date.parse(r.body.trace[2].at)).toBe(120_000);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "leased", attempts: 1 }]);

    await advance(6_000);
    r = await call("GET", `/v1/topics/${topic}/messages/stale`);
    expect(r.body.message.state).toBe("expired");
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "expired", attempts: 0 }]);
    expect(r.body.trace.map((e: { event: string }) => e.event)).toEqual(["produced", "expired"]);
  });

  it("follows a message a surge moved to a temporary partition, and shows its ack there", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { surge: { enabled: true, trigger_depth: 100, factor: 2, cooldown_seconds: 0 } });
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ id: `m-${i}`, body: i })));
    await runCron();
    let r = await call("GET", `/v1/topics/${topic}/messages/m-0`);
    const moved = r.body.trace.find((e: { event: string }) => e.event === "moved");
    expect(moved).toMatchObject({ subscription: sub });
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "ready", attempts: 0 }]);

    await drain(topic, sub, { batch: 100 });
    r = await call("GET", `/v1/topics/${topic}/messages/m-0`);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "acked", attempts: 1 }]);
    expect(r.body.trace.map((e: { event: string }) => e.event)).toEqual(["produced", "moved", "leased", "acked"]);

    // Folded back: the temporary partitions are gone, and were drained first.
    await runCron();
    await runCron();
    r = await call("GET", `/v1/topics/${topic}/messages/m-0`);
    expect(r.body.subscriptions[0].state).toBe("acked");
    expect(r.body.trace.map((e: { event: string }) => e.event)).toEqual(["produced", "moved", "acked"]);
  });

  it("shows a cancelled message", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    await produce(topic, [{ id: "later", body: 1, delay_seconds: 3600 }]);
    expect((await call("GET", `/v1/topics/${topic}/messages/later`)).body.message.state).toBe("scheduled");
    await call("DELETE", `/v1/topics/${topic}/messages/later`);
    const r = await call("GET", `/v1/topics/${topic}/messages/later`);
    expect(r.body.message.state).toBe("cancelled");
    expect(r.body.trace.map((e: { event: string }) => e.event)).toEqual(["produced", "cancelled"]);
  });

  it("asks only the key's partition when given the key, and every partition without a hint", async () => {
    const topic = await createTopic(8);
    await createSubscription(topic);
    const [p] = await produce(topic, [{ id: "keyed", key: "customer-7", body: 1 }]);
    const byKey = await call("GET", `/v1/topics/${topic}/messages/keyed?key=customer-7`);
    expect(byKey.body.message.partition).toBe(p!.partition);
    expect(byKey.headers.get("weir-partition-calls")).toBe("1");
    const byHint = await call("GET", `/v1/topics/${topic}/messages/keyed?partition=${p!.partition}`);
    expect(byHint.headers.get("weir-partition-calls")).toBe("1");
    const fanned = await call("GET", `/v1/topics/${topic}/messages/keyed`);
    expect(fanned.body.message.partition).toBe(p!.partition);
    expect(fanned.headers.get("weir-partition-calls")).toBe("8");
  });

  it("answers 404 message_not_found for an unknown id, and 400 naming a partition out of range", async () => {
    const topic = await createTopic(2);
    const missing = await call("GET", `/v1/topics/${topic}/messages/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("message_not_found");
    const bad = await call("GET", `/v1/topics/${topic}/messages/nope?partition=5`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("partition");
  });

  it("is allowed to a producer or a consumer of the topic, and refused to others", async () => {
    const topic = await createTopic(1);
    await produce(topic, [{ id: "x", body: 1 }]);
    const key = async (scopes: string[]) => (await call("POST", "/v1/keys", { name: "k", scopes })).body.secret as string;
    for (const scopes of [[`produce:${topic}`], [`consume:${topic}`]]) {
      expect((await call("GET", `/v1/topics/${topic}/messages/x`, undefined, { token: await key(scopes) })).status).toBe(200);
    }
    const other = await call("GET", `/v1/topics/${topic}/messages/x`, undefined, { token: await key(["consume:other"]) });
    expect(other.status).toBe(403);
  });
});
