// Edge review F-5 (issue 14 item 4): retention pages past held messages and continues by
// itself until everything past the retention that nobody needs is gone.
import { describe, expect, it } from "vitest";
import { ack, call, controlTime, createSubscription, createTopic, produce, receive } from "../helpers";
import { RETENTION_BATCH_MESSAGES } from "../../src/shared/limits";

async function storedMessages(topic: string): Promise<number> {
  return (await call("GET", `/v1/topics/${topic}/stats`)).body.partitions[0].messages;
}

async function produceMany(topic: string, count: number, extra: Record<string, unknown> = {}) {
  for (let i = 0; i < count; i += 500) {
    await produce(topic, Array.from({ length: Math.min(500, count - i) }, () => ({ body: 1, ...extra })));
  }
}

describe("retention", () => {
  it("deletes acked messages that sit behind more held messages than one pass looks at", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { retention_seconds: 60, dedup_window_seconds: 60 });
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    // Held for 30 days: delayed messages nobody can ack before then.
    await produceMany(topic, RETENTION_BATCH_MESSAGES + 10, { delay_seconds: 30 * 86400 });
    await produce(topic, Array.from({ length: 50 }, (_, i) => ({ body: i })));
    const got = await receive(topic, sub, { max_messages: 100 });
    expect(got.length).toBe(50);
    await ack(topic, sub, got.map((m) => m.receipt));
    await advance(61_000);
    // A few alarm turns at most: the pass continues past the held ones.
    for (let i = 0; i < 3; i++) await advance(0);
    expect(await storedMessages(topic)).toBe(RETENTION_BATCH_MESSAGES + 10);
  });

  it("keeps going by itself when more messages are due than one pass deletes", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { retention_seconds: 60, dedup_window_seconds: 60 });
    const advance = await controlTime(topic);
    // No subscription: nothing holds them.
    await produceMany(topic, 2 * RETENTION_BATCH_MESSAGES + 10);
    await advance(61_000);
    for (let i = 0; i < 3; i++) await advance(0);
    expect(await storedMessages(topic)).toBe(0);
  });

  it("re-arms for messages that grow old after the oldest one, when the oldest is held", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { retention_seconds: 60, dedup_window_seconds: 60 });
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [{ body: "held", delay_seconds: 30 * 86400 }]);
    await advance(30_000);
    await produce(topic, [{ body: "acked" }]);
    const got = await receive(topic, sub, { max_messages: 10 });
    await ack(topic, sub, got.map((m) => m.receipt));
    await advance(31_000); // the held one is past retention, the acked one not yet
    await advance(30_000); // now the acked one is: an alarm must come for it
    expect(await storedMessages(topic)).toBe(1);
  });
});
