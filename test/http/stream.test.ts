import { describe, expect, it } from "vitest";
import { ack, call, createSubscription, createTopic, openStream, produce, receive, type StreamLine } from "../helpers";

const bodies = (lines: StreamLine[]) => lines.flatMap((l) => l.messages ?? []).map((m) => m.body);

/** Produces bodies 0 … count-1 one at a time, each read from `stream` before the next is produced. */
async function oneByOne(topic: string, stream: Awaited<ReturnType<typeof openStream>>, count: number): Promise<unknown[]> {
  const got: unknown[] = [];
  for (let i = 0; i < count; i++) {
    await produce(topic, [{ body: i }]);
    got.push(...bodies([(await stream.next())!]));
  }
  return got;
}

describe("stream", () => {
  it("delivers messages as they are produced, and ends after max_messages with what it cost", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: "before" }]);
    const stream = await openStream(topic, sub, { max_messages: 3, wait_seconds: 20 });
    expect(bodies([(await stream.next())!])).toEqual(["before"]);

    await produce(topic, [{ body: "one" }]);
    expect(bodies([(await stream.next())!])).toEqual(["one"]);
    await produce(topic, [{ body: "two" }, { body: "three" }]);
    const rest = await stream.rest();
    expect(bodies(rest)).toEqual(["two"]);
    const end = rest.at(-1)!;
    expect(end).toMatchObject({ end: "max_messages" });
    expect(end.partition_calls).toBeGreaterThan(0);
    // "three" was left for the next receive.
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.body)).toEqual(["three"]);
  });

  it("once seated, costs one partition call a line and no doorbell call", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { max_messages: 1000, wait_seconds: 2 });
    const got = await oneByOne(topic, stream, 5);
    const rest = await stream.rest();
    expect(got).toEqual([0, 1, 2, 3, 4]);
    const end = rest.at(-1)!;
    // A seat on each of the 4 partitions, and each line's seat taken again; the seats end with
    // the stream by themselves.
    expect(end).toMatchObject({ end: "wait_seconds", partition_calls: 4 + 5, doorbell_calls: 0 });
  });

  it("delivers exactly max_messages when fewer are left than it has seats, and leaves the rest", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { max_messages: 5, wait_seconds: 20 });
    const got = await oneByOne(topic, stream, 5);
    await produce(topic, [{ body: 5 }, { body: 6 }]);
    const [end] = await stream.rest();
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(end).toMatchObject({ end: "max_messages" });
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.body).sort()).toEqual([5, 6]);
  });

  it("leases what it delivers: receipts ack, others do not see it, an unacked message comes back", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: "a" }, { body: "b" }]);
    const lines = await (await openStream(topic, sub, { max_messages: 10, wait_seconds: 0, visibility_timeout_seconds: 1 })).rest();
    const delivered = lines.flatMap((l) => l.messages ?? []);
    expect(delivered.map((m) => [m.body, m.attempt])).toEqual([["a", 1], ["b", 1]]);
    expect(await receive(topic, sub, { max_messages: 10 })).toEqual([]);

    expect((await ack(topic, sub, [delivered[0]!.receipt])).map((r) => r.ok)).toEqual([true]);
    await new Promise((r) => setTimeout(r, 1_200));
    const again = await receive(topic, sub, { max_messages: 10 });
    expect(again.map((m) => [m.body, m.attempt])).toEqual([["b", 2]]);
  });

  it("with wait_seconds 0 makes one pass: one line of at most 100, then the end line", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, Array.from({ length: 150 }, (_, i) => ({ body: i })));
    const lines = await (await openStream(topic, sub, { max_messages: 1000, wait_seconds: 0 })).rest();
    expect(lines).toHaveLength(2);
    expect(lines[0]!.messages).toHaveLength(100);
    expect(lines[1]).toMatchObject({ end: "wait_seconds" });
  });

  it("writes a heartbeat line after heartbeat_seconds without messages, and ends after wait_seconds", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const started = Date.now();
    const lines = await (await openStream(topic, sub, { wait_seconds: 2.5, heartbeat_seconds: 1 })).rest();
    const elapsed = Date.now() - started;
    expect(lines.slice(0, -1)).toEqual([{ messages: [] }, { messages: [] }]);
    expect(lines.at(-1)).toMatchObject({ end: "wait_seconds" });
    expect(elapsed).toBeGreaterThanOrEqual(2_400);
    expect(elapsed).toBeLessThan(6_000);
  });

  it("keeps key order in an ordered subscription: a key's next message comes once the last is acked", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [{ key: "k", body: "first" }, { key: "k", body: "second" }]);
    const stream = await openStream(topic, sub, { max_messages: 2, wait_seconds: 20 });
    const first = (await stream.next())!.messages!;
    expect(first.map((m) => m.body)).toEqual(["first"]);
    await ack(topic, sub, [first[0]!.receipt]);
    expect(bodies([(await stream.next())!])).toEqual(["second"]);
    expect(await stream.next()).toMatchObject({ end: "max_messages" });
  });

  it("applies a header filter", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: "v1", headers: { v: "1" } }, { body: "v2", headers: { v: "2" } }]);
    const lines = await (await openStream(topic, sub, { wait_seconds: 0, max_messages: 10, filter: { headers: { v: "2" } } })).rest();
    expect(bodies(lines)).toEqual(["v2"]);
  });

  it("stops leasing once its client has gone", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { wait_seconds: 30, heartbeat_seconds: 60 });
    await stream.cancel();
    await new Promise((r) => setTimeout(r, 100));
    await produce(topic, [{ body: "for someone else" }]);
    expect((await receive(topic, sub, { wait_seconds: 5 })).map((m) => m.body)).toEqual(["for someone else"]);
  });

  it("ends with an error line when its subscription is deleted while it runs", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { wait_seconds: 20, heartbeat_seconds: 1 });
    expect((await call("DELETE", `/v1/topics/${topic}/subscriptions/${sub}`)).status).toBe(204);
    const lines = await stream.rest();
    expect(lines.at(-1)).toMatchObject({ error: { code: "subscription_not_found" } });
  });

  it("refuses bad input by field, and unknown subscriptions", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const path = `/v1/topics/${topic}/subscriptions/${sub}/stream`;
    for (const [body, field] of [
      [{ wait_seconds: 301 }, "wait_seconds"],
      [{ max_messages: 0 }, "max_messages"],
      [{ max_messages: 10_001 }, "max_messages"],
      [{ heartbeat_seconds: 0.5 }, "heartbeat_seconds"],
      [{ ack: ["x"] }, ""],
    ] as const) {
      const answer = await call("POST", path, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(answer.body.error), JSON.stringify(body)).toContain(field);
    }
    expect((await call("POST", `/v1/topics/${topic}/subscriptions/nope/stream`, {})).status).toBe(404);
  });
});
