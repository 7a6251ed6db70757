// Edge review F-15 (issue 14 item 1): the dead-letter outbox is not blocked by a head that its
// dead-letter topic refuses.
import { describe, expect, it } from "vitest";
import { call, controlTime, createSubscription, createTopic, produce, receive, settle } from "../helpers";

describe("dead-letter outbox", () => {
  it("forwards one subscription's dead letters while another's dead-letter topic refuses a long head", async () => {
    const topic = await createTopic(1);
    const full = `${topic}.full`;
    const open = `${topic}.open`;
    await call("PUT", `/v1/topics/${full}`, { partitions: 1, max_messages: 1, overflow: "reject" });
    await createSubscription(full); // a backlog counts only where someone subscribes
    await produce(full, [{ body: "fills it" }]);
    await call("PUT", `/v1/topics/${open}`, { partitions: 1 });
    const a = await createSubscription(topic, { dead_letter_topic: full });
    const b = await createSubscription(topic, { dead_letter_topic: open });
    const advance = await controlTime(topic);
    for (let i = 0; i < 600; i += 300) await produce(topic, Array.from({ length: 300 }, (_, j) => ({ body: i + j })));
    for (let i = 0; i < 600; i += 300) {
      const got = await receive(topic, a, { max_messages: 300 });
      await settle("nack", topic, a, { receipts: got.map((m) => m.receipt), dead_letter: true });
    }
    const [one] = await receive(topic, b, { max_messages: 1 });
    await settle("nack", topic, b, { receipts: [one!.receipt], dead_letter: true });
    for (let i = 0; i < 3; i++) await advance(6_000);
    const stats = (await call("GET", `/v1/topics/${open}/stats`)).body;
    expect(stats.partitions[0].messages).toBe(1);
  });
});
