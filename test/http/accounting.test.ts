import { describe, expect, it } from "vitest";
import { ack, createSubscription, createTopic, deadLetters, produce, receive, settle } from "../helpers";

/** A small seeded generator, so that a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("accounting", () => {
  it("ends every produced message acked or dead-lettered, never both, never missing", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic, { max_deliveries: 3 });
    const ids = Array.from({ length: 300 }, (_, i) => `m-${i}`);
    for (let i = 0; i < ids.length; i += 100) {
      await produce(topic, ids.slice(i, i + 100).map((id, j) => ({ id, key: j % 4 === 0 ? undefined : `k${j % 9}`, body: id })));
    }
    const next = random(20261122);
    const acked = new Set<string>();
    const consumer = async (): Promise<void> => {
      let empty = 0;
      while (empty < 3) {
        const got = await receive(topic, sub, { max_messages: 20 });
        if (got.length === 0) {
          empty++;
          continue;
        }
        empty = 0;
        // Fail a known fraction (30%) of deliveries: half by nack, half by rejecting outright.
        const fail = got.filter(() => next() < 0.3);
        const ok = got.filter((m) => !fail.includes(m));
        const [nacked, rejected] = [fail.filter((_, i) => i % 2 === 0), fail.filter((_, i) => i % 2 === 1)];
        if (nacked.length > 0) await settle("nack", topic, sub, { receipts: nacked.map((m) => m.receipt) });
        if (rejected.length > 0) {
          await settle("nack", topic, sub, { receipts: rejected.map((m) => m.receipt), dead_letter: true });
        }
        if (ok.length === 0) continue;
        const results = await ack(topic, sub, ok.map((m) => m.receipt));
        results.forEach((r, i) => r.ok && acked.add(ok[i]!.id));
      }
    };
    await Promise.all([consumer(), consumer(), consumer()]);

    const dead = new Set((await deadLetters(topic, ids.length - acked.size)).map((m) => m.id));
    const both = [...acked].filter((id) => dead.has(id));
    const missing = ids.filter((id) => !acked.has(id) && !dead.has(id));
    expect(both).toEqual([]);
    expect(missing).toEqual([]);
    expect(acked.size + dead.size).toBe(ids.length);
    expect(dead.size).toBeGreaterThan(0);
  });
});
