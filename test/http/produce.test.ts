import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../src/shared/hash";
import { call, createSubscription, createTopic, drain, produce } from "../helpers";

describe("produce", () => {
  it("answers each message's id, partition and offset in request order", async () => {
    const topic = await createTopic(1);
    const results = await produce(topic, [{ id: "a", body: 1 }, { id: "b", body: 2 }, { body: 3 }]);
    expect(results.map((r) => [r.id, r.partition, r.offset, r.duplicate])).toEqual([
      ["a", 0, 0, false],
      ["b", 0, 1, false],
      [results[2]!.id, 0, 2, false],
    ]);
    expect(results[2]!.id).toMatch(/^[0-9A-Z]{26}$/);
  });

  it("keeps offsets gap-free and ordered under concurrent produce", async () => {
    const topic = await createTopic(1);
    const batches = await Promise.all(
      Array.from({ length: 20 }, (_, b) =>
        produce(
          topic,
          Array.from({ length: 10 }, (_, i) => ({ body: { b, i } })),
        ),
      ),
    );
    for (const batch of batches) {
      // One transaction per call: a batch's offsets are consecutive.
      const offsets = batch.map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));
    }
    const all = batches.flat().map((r) => r.offset).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("routes a key to fnv1a32(key) % partitions, every time", async () => {
    const topic = await createTopic(8);
    const keys = ["alice", "bob", "carol", "dave", "erin", "frank", "order-1", "order-2"];
    for (let round = 0; round < 3; round++) {
      const results = await produce(topic, keys.map((key) => ({ key, body: round })));
      expect(results.map((r) => r.partition)).toEqual(keys.map((k) => partitionForKey(k, 8)));
    }
  });

  it("spreads keyless messages over the partitions", async () => {
    const topic = await createTopic(4);
    const used = new Set<number>();
    for (let i = 0; i < 40; i++) used.add((await produce(topic, [{ body: i }]))[0]!.partition);
    expect(used.size).toBe(4);
  });

  it("stores a repeated id once and answers the first copy's place", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const first = await produce(topic, [{ id: "order-1", body: "first" }]);
    const again = await produce(topic, [{ id: "order-1", body: "second" }, { id: "order-2", body: "other" }]);
    expect(again[0]).toEqual({ ...first[0], duplicate: true });
    expect(again[1]!.duplicate).toBe(false);
    const delivered = await drain(topic, sub);
    expect(delivered.map((m) => m.body).sort()).toEqual(["first", "other"]);
  });

  it("keeps body, key, headers and priority as sent", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const body = { nested: [1, "two", { three: null }], unicode: "héllo ✓" };
    await produce(topic, [{ key: "k", headers: { version: "2", "content-type": "x" }, body, priority: 7 }]);
    const [m] = await drain(topic, sub);
    expect(m).toMatchObject({ key: "k", headers: { version: "2", "content-type": "x" }, body, priority: 7, attempt: 1 });
    expect(Date.parse(m!.produced_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("accepts JSON scalars and null as bodies", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: null }, { body: 0 }, { body: "text" }, { body: false }]);
    const got = await drain(topic, sub);
    expect(got.map((m) => m.body)).toEqual([null, 0, "text", false]);
  });

  it("answers 404 for an unknown topic", async () => {
    const r = await call("POST", "/v1/topics/no-such-topic/messages", { messages: [{ body: 1 }] });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("topic_not_found");
  });
});
