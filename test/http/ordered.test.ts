import { describe, expect, it } from "vitest";
import { ack, controlTime, createSubscription, createTopic, produce, receive, settle, type Delivered } from "../helpers";

describe("ordered subscriptions", () => {
  it("deliver one message of a key at a time, in offset order", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [
      { id: "a1", key: "a", body: 1 },
      { id: "a2", key: "a", body: 2 },
      { id: "b1", key: "b", body: 1 },
      { id: "a3", key: "a", body: 3 },
      { id: "b2", key: "b", body: 2 },
    ]);
    const first = await receive(topic, sub, { max_messages: 10 });
    expect(first.map((m) => m.id)).toEqual(["a1", "b1"]);
    expect(await receive(topic, sub, { max_messages: 10 })).toEqual([]);
    await ack(topic, sub, [first[0]!.receipt]);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id)).toEqual(["a2"]);
  });

  it("hand the next message of a key to a consumer already waiting, as soon as the one before is acked", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [
      { id: "a1", key: "a", body: 1 },
      { id: "a2", key: "a", body: 2 },
    ]);
    const [first] = await receive(topic, sub, { max_messages: 10 });
    expect(first?.id).toBe("a1");
    const waiting = receive(topic, sub, { max_messages: 10, wait_seconds: 10 });
    await new Promise((r) => setTimeout(r, 200));
    const ackedAt = Date.now();
    await ack(topic, sub, [first!.receipt]);
    expect((await waiting).map((m) => m.id)).toEqual(["a2"]);
    expect(Date.now() - ackedAt).toBeLessThan(2_000);
  });

  it("keep a key's order across a redelivery after the lease ran out", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered", visibility_timeout_seconds: 10 });
    const advance = await controlTime(topic);
    await produce(topic, [
      { id: "a1", key: "a", body: 1 },
      { id: "a2", key: "a", body: 2 },
    ]);
    const [a1] = await receive(topic, sub, { max_messages: 10 });
    expect(a1!.id).toBe("a1");
    await advance(11_000);
    const again = await receive(topic, sub, { max_messages: 10 });
    expect(again.map((m) => [m.id, m.attempt])).toEqual([["a1", 2]]);
    await ack(topic, sub, [again[0]!.receipt]);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id)).toEqual(["a2"]);
  });

  it("keep a key's order across a nack", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [
      { id: "a1", key: "a", body: 1 },
      { id: "a2", key: "a", body: 2 },
    ]);
    const [a1] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [a1!.receipt] });
    const next = await receive(topic, sub, { max_messages: 10 });
    expect(next.map((m) => [m.id, m.attempt])).toEqual([["a1", 2]]);
  });

  it("order keyless messages per partition", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [{ id: "x1", body: 1 }, { id: "x2", body: 2 }, { id: "k1", key: "k", body: 3 }]);
    const got = await receive(topic, sub, { max_messages: 10 });
    expect(got.map((m) => m.id)).toEqual(["x1", "k1"]);
  });

  it("ignore priority", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [
      { id: "a1", key: "a", body: 1, priority: 0 },
      { id: "b1", key: "b", body: 1, priority: 9 },
    ]);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id)).toEqual(["a1", "b1"]);
  });

  it("never deliver a key out of order with many consumers on many partitions", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic, { mode: "ordered" });
    const keys = ["a", "b", "c", "d", "e", "f"];
    const messages = Array.from({ length: 120 }, (_, i) => ({ key: keys[i % keys.length]!, body: i }));
    await produce(topic, messages);
    const seen = new Map<string, number[]>();
    const inFlight = new Set<string>();
    const consumer = async (): Promise<void> => {
      let empty = 0;
      while (empty < 3) {
        const got: Delivered[] = await receive(topic, sub, { max_messages: 4 });
        if (got.length === 0) {
          empty++;
          continue;
        }
        empty = 0;
        for (const m of got) {
          expect(inFlight.has(m.key!)).toBe(false);
          inFlight.add(m.key!);
          seen.set(m.key!, [...(seen.get(m.key!) ?? []), m.body as number]);
        }
        await new Promise((r) => setTimeout(r, 1));
        for (const m of got) inFlight.delete(m.key!);
        await ack(topic, sub, got.map((m) => m.receipt));
      }
    };
    await Promise.all([consumer(), consumer(), consumer()]);
    for (const key of keys) {
      const bodies = seen.get(key)!;
      expect(bodies).toEqual([...bodies].sort((a, b) => a - b));
      expect(bodies).toHaveLength(20);
    }
    // About 120 receive + ack round trips: not a speed test, so a loaded machine gets time.
  }, 30_000);
});
