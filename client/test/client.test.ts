import { describe, expect, it } from "vitest";
import { Weir, WeirError } from "../src/index.js";
import { topicWithSubscription, uniqueName, useWeir } from "./helpers.js";

const { server, weir } = useWeir();

describe("admin", () => {
  it("creates, reads, lists and deletes topics and subscriptions", async () => {
    const topic = uniqueName();
    expect((await weir().putTopic(topic, { partitions: 2 })).partitions).toBe(2);
    expect((await weir().getTopic(topic)).name).toBe(topic);
    expect((await weir().listTopics()).map((t) => t.name)).toContain(topic);
    const sub = await weir().putSubscription(topic, "s1", { mode: "ordered" });
    expect(sub).toMatchObject({ name: "s1", mode: "ordered", dead_letter_topic: `${topic}.dlq` });
    expect((await weir().getSubscription(topic, "s1")).mode).toBe("ordered");
    expect((await weir().listSubscriptions(topic)).map((s) => s.name)).toEqual(["s1"]);
    await weir().deleteSubscription(topic, "s1");
    await weir().deleteTopic(topic);
    await expect(weir().getTopic(topic)).rejects.toMatchObject({ status: 404, code: "topic_not_found" });
  });

  it("creates a key whose secret works for its scopes only, lists it, and revokes it", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    const key = await weir().createKey({ name: "producer", scopes: [`produce:${topic}`] });
    expect((await weir().listKeys()).map((k) => k.id)).toContain(key.id);
    const producer = new Weir({ url: server().url, token: key.secret });
    await producer.produce(topic, [{ body: 1 }]);
    await expect(producer.listTopics()).rejects.toMatchObject({ status: 403, code: "forbidden" });
    await weir().deleteKey(key.id);
    expect((await weir().listKeys()).map((k) => k.id)).not.toContain(key.id);
  });
});

describe("produce and consume", () => {
  it("produces, receives, acks, and the acked message is not delivered again", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    const [result] = await weir().produce(topic, [{ id: "m1", key: "k", headers: { v: "1" }, body: { n: 1 } }]);
    expect(result).toMatchObject({ id: "m1", partition: 0, offset: 0, duplicate: false });
    const { messages } = await weir().receive<{ n: number }>(topic, subscription, { max_messages: 10 });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ id: "m1", key: "k", headers: { v: "1" }, body: { n: 1 }, attempt: 1 });
    expect(await weir().ack(topic, subscription, [messages[0]!.receipt])).toEqual([{ receipt: messages[0]!.receipt, ok: true }]);
    expect((await weir().receive(topic, subscription)).messages).toEqual([]);
  });

  it("acks with the next receive", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: 1 }, { body: 2 }]);
    const first = await weir().receive(topic, subscription);
    const second = await weir().receive(topic, subscription, { ack: [first.messages[0]!.receipt] });
    expect(second.acked).toEqual([{ receipt: first.messages[0]!.receipt, ok: true }]);
    expect(second.messages.map((m) => m.body)).toEqual([2]);
  });

  it("nacks a message back with a delay, and dead-letters one with a reason", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ id: "a", body: "a" }, { id: "b", body: "b" }]);
    const { messages } = await weir().receive(topic, subscription, { max_messages: 2 });
    const [a, b] = messages;
    await weir().nack(topic, subscription, [a!.receipt], { delay_seconds: 0 });
    await weir().nack(topic, subscription, [b!.receipt], { dead_letter: true, reason: "bad input" });
    const again = await weir().receive(topic, subscription, { max_messages: 2 });
    expect(again.messages.map((m) => [m.id, m.attempt])).toEqual([["a", 2]]);
    expect(await weir().redrive(topic, subscription)).toEqual({ moved: 1, missing: 0, more: false });
    const redriven = await weir().receive(topic, subscription, { max_messages: 2 });
    expect(redriven.messages.map((m) => [m.id, m.attempt])).toEqual([["b", 1]]);
  });

  it("extends a lease, and refuses a receipt that is not one", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: 1 }]);
    const { messages } = await weir().receive(topic, subscription, { visibility_timeout_seconds: 1 });
    const [ok, bad] = await weir().extend(topic, subscription, [messages[0]!.receipt, "nonsense"], 60);
    expect(ok).toEqual({ receipt: messages[0]!.receipt, ok: true });
    expect(bad).toMatchObject({ receipt: "nonsense", ok: false });
  });

  it("streams messages as NDJSON and returns the end line", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: 1 }, { body: 2 }, { body: 3 }]);
    const stream = weir().stream(topic, subscription, { max_messages: 3, wait_seconds: 5 });
    const bodies: unknown[] = [];
    let next = await stream.next();
    while (!next.done) {
      bodies.push(...next.value.map((m) => m.body));
      next = await stream.next();
    }
    expect(bodies).toEqual([1, 2, 3]);
    expect(next.value).toMatchObject({ end: "max_messages" });
  });

  it("seeks back to the earliest message", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: 1 }]);
    const { messages } = await weir().receive(topic, subscription);
    await weir().ack(topic, subscription, [messages[0]!.receipt]);
    expect(await weir().seek(topic, subscription, "earliest")).toEqual({ partitions: [{ partition: 0, offset: 0 }] });
    expect((await weir().receive(topic, subscription)).messages.map((m) => m.body)).toEqual([1]);
  });

  it("cancels a scheduled message", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ id: "later", body: 1, delay_seconds: 3600 }]);
    await weir().cancel(topic, "later");
    expect((await weir().stats(topic)).subscriptions[0]!.delayed).toBe(0);
    expect((await weir().receive(topic, subscription)).messages).toEqual([]);
  });
});

describe("transactions", () => {
  it("delivers a prepared transaction's messages only once it is committed", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    const prepared = await weir().prepareTransaction(topic, { messages: [{ id: "t1", body: "one" }, { id: "t2", body: "two" }] });
    expect(prepared.transaction.state).toBe("prepared");
    expect((await weir().receive(topic, subscription)).messages).toEqual([]);
    const committed = await weir().commitTransaction(topic, prepared.transaction.id);
    expect(committed.transaction.state).toBe("committed");
    expect((await weir().getTransaction(topic, prepared.transaction.id)).state).toBe("committed");
    const { messages } = await weir().receive(topic, subscription, { max_messages: 10 });
    expect(messages.map((m) => m.body).sort()).toEqual(["one", "two"]);
  });

  it("never delivers a rolled-back one, and refuses to commit it after", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    const prepared = await weir().prepareTransaction(topic, { messages: [{ body: "never" }] });
    expect((await weir().rollbackTransaction(topic, prepared.transaction.id)).transaction).toMatchObject({ state: "rolled_back", reason: "client" });
    await expect(weir().commitTransaction(topic, prepared.transaction.id)).rejects.toMatchObject({ status: 409, code: "transaction_rolled_back" });
    expect((await weir().receive(topic, subscription)).messages).toEqual([]);
  });
});

describe("errors", () => {
  it("is a WeirError with the server's code, status, message and field details", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    const error = await weir()
      .produce(topic, [{ body: 1, priority: 42 }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeirError);
    expect(error).toMatchObject({ status: 400, code: "invalid_request", retryAfter: null });
    expect((error as WeirError).message).toContain("messages[0].priority");
    expect((error as WeirError).details).toEqual([expect.objectContaining({ path: "messages[0].priority" })]);
  });

  it("carries Retry-After of a 429", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic, { max_messages: 1, overflow: "reject" });
    await weir().putSubscription(topic, "s");
    await weir().produce(topic, [{ body: 1 }]);
    const error = await weir()
      .produce(topic, [{ body: 2 }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, code: "topic_full", retryable: true });
    expect((error as WeirError).retryAfter).toBeGreaterThan(0);
  });

  it("is unauthorized with a wrong token", async () => {
    const stranger = new Weir({ url: server().url, token: "wrong" });
    await expect(stranger.listTopics()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("sends a request that is safe to repeat once more when the connection failed, and a produce without ids only once", async () => {
    let calls = 0;
    const flaky = new Weir({
      url: server().url,
      token: server().token,
      fetch: (input, init) => (++calls % 2 === 1 ? Promise.reject(new TypeError("other side closed")) : fetch(input, init)),
    });
    const topic = uniqueName();
    await flaky.putTopic(topic);
    expect(calls).toBe(2);
    await flaky.produce(topic, [{ id: "a", body: 1 }]);
    expect(calls).toBe(4);
    await expect(flaky.produce(topic, [{ body: 1 }])).rejects.toMatchObject({ code: "network_error" });
    expect(calls).toBe(5);
  });

  it("is a network_error with status 0 when nothing answers", async () => {
    const nobody = new Weir({ url: "http://127.0.0.1:9", token: "x" });
    await expect(nobody.listTopics()).rejects.toMatchObject({ status: 0, code: "network_error", retryable: true });
  });
});
