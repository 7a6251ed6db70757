import { describe, expect, it } from "vitest";
import { ack, call, controlTime, createSubscription, createTopic, drain, produce, receive } from "../helpers";

describe("delayed delivery", () => {
  it("does not deliver a delayed message early, and wakes a waiting receive within a second of its due time", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "later", body: 1, delay_seconds: 3600 }]);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(3_599_000);
    expect(await receive(topic, sub)).toEqual([]);

    const waiting = receive(topic, sub, { wait_seconds: 10 });
    await new Promise((r) => setTimeout(r, 100));
    const due = Date.now();
    await advance(1_000); // the partition's alarm fires: the message is due
    const got = await waiting;
    expect(got.map((m) => m.id)).toEqual(["later"]);
    expect(Date.now() - due).toBeLessThan(1_000);
  });

  it("delivers a message at deliver_at", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    const at = new Date(Date.now() + 120_000).toISOString();
    await produce(topic, [{ id: "at", body: 1, deliver_at: at }]);
    await advance(100_000);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(21_000);
    expect((await receive(topic, sub)).map((m) => m.id)).toEqual(["at"]);
  });

  it("applies the topic's default delay to messages that set none", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { default_delay_seconds: 60 });
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "default", body: 1 }, { id: "now", body: 2, delay_seconds: 0 }]);
    const first = await receive(topic, sub, { max_messages: 10 });
    expect(first.map((m) => m.id)).toEqual(["now"]);
    await ack(topic, sub, first.map((m) => m.receipt));
    await advance(61_000);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id)).toEqual(["default"]);
  });

  it("refuses delay_seconds together with deliver_at, and deliver_at over 365 days ahead", async () => {
    const topic = await createTopic(1);
    const both = await call("POST", `/v1/topics/${topic}/messages`, {
      messages: [{ body: 1, delay_seconds: 5, deliver_at: new Date().toISOString() }],
    });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain("messages[0].deliver_at");
    const far = await call("POST", `/v1/topics/${topic}/messages`, {
      messages: [{ body: 1, deliver_at: new Date(Date.now() + 400 * 86400_000).toISOString() }],
    });
    expect(far.status).toBe(400);
  });
});

describe("cancelling a message", () => {
  it("never delivers a cancelled message", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [
      { id: "keep", key: "a", body: 1, delay_seconds: 60 },
      { id: "drop", key: "b", body: 2, delay_seconds: 60 },
    ]);
    expect((await call("DELETE", `/v1/topics/${topic}/messages/drop`)).status).toBe(204);
    await advance(61_000);
    expect((await drain(topic, sub)).map((m) => m.id)).toEqual(["keep"]);
  });

  it("keeps a cancelled message from a subscription created later from the start", async () => {
    const topic = await createTopic(1);
    await produce(topic, [{ id: "drop", body: 1 }, { id: "keep", body: 2 }]);
    expect((await call("DELETE", `/v1/topics/${topic}/messages/drop`)).status).toBe(204);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    expect((await drain(topic, sub)).map((m) => m.id)).toEqual(["keep"]);
  });

  it("refuses with 409 once a subscription has received the message", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    await receive(topic, sub);
    const r = await call("DELETE", `/v1/topics/${topic}/messages/m`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("message_delivered");
  });

  it("answers 404 for an unknown id", async () => {
    const topic = await createTopic(2);
    const r = await call("DELETE", `/v1/topics/${topic}/messages/nothing`);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("message_not_found");
  });
});
