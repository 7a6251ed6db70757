import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ack, controlTime, createSubscription, createTopic, drain, produce, receive } from "../helpers";

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
});
