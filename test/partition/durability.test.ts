import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import type { Partition } from "../../src/partition/partition";
import type { NewMessage } from "../../src/shared/partition-api";
import { describe, expect, it } from "vitest";
import { ack, controlTime, createSubscription, createTopic, drain, partitionStubs, produce, receive } from "../helpers";

describe("durability", () => {
  it("keeps every acknowledged produce across a restart of the objects", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const ids = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await produce(topic, ids.map((id) => ({ id, body: id })));
    await abortAllDurableObjects();
    const got = await drain(topic, sub);
    expect(got.map((m) => m.id).sort()).toEqual([...ids].sort());
  });

  it("keeps leases, and redelivers them after a restart when they run out", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 10 });
    await produce(topic, [{ id: "a", body: 1 }, { id: "b", body: 2 }]);
    const [a] = await receive(topic, sub);
    await abortAllDurableObjects();
    const advance = await controlTime(topic);
    const [b] = await receive(topic, sub);
    expect(b!.id).toBe(a!.id === "a" ? "b" : "a");
    await ack(topic, sub, [b!.receipt]);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(11_000);
    const again = await receive(topic, sub);
    expect(again.map((m) => [m.id, m.attempt])).toEqual([[a!.id, 2]]);
  });

  it("keeps offsets gap-free across a restart", async () => {
    const topic = await createTopic(1);
    const first = await produce(topic, [{ body: 1 }, { body: 2 }]);
    await abortAllDurableObjects();
    const second = await produce(topic, [{ body: 3 }]);
    expect([...first, ...second].map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it("keeps offsets gap-free after an append that failed inside its transaction", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic, { start_position: "earliest" });
    const [stub] = await partitionStubs(topic);
    await produce(topic, [{ body: 1 }]);
    // A message without a body breaks the log's NOT NULL constraint after the first row of the
    // batch was written: the transaction rolls back, the first row with it.
    const broken = { id: "x", idFromProducer: false, key: null, headers: null, body: null, priority: 0, delayMs: 0, ttlMs: null };
    await runInDurableObject<Partition, void>(stub!, async (instance) => {
      await expect(instance.append([{ ...broken, body: "ok" }, broken as unknown as NewMessage])).rejects.toThrow();
    });
    const after = await produce(topic, [{ body: 2 }]);
    expect(after.map((r) => r.offset)).toEqual([1]);
    const stats = await stub!.stats();
    expect(stats.nextOffset).toBe(2);
  });
});
