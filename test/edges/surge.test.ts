// Edge review F-16 (issue 14 item 3): a surge keeps a message's attempt count and nack reason.
import { describe, expect, it } from "vitest";
import { call, createSubscription, createTopic, produce, receive, runCron, settle } from "../helpers";

describe("surge moves", () => {
  it("keep the attempt count and the nack reason of what they move", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}.dlq`, { partitions: 1 });
    const sub = await createSubscription(topic, {
      dead_letter_topic: `${topic}.dlq`,
      max_deliveries: 2,
      surge: { enabled: true, trigger_depth: 100, factor: 4, cooldown_seconds: 0 },
    });
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, body: i })));
    const first = await receive(topic, sub, { max_messages: 200 });
    expect(first.every((m) => m.attempt === 1)).toBe(true);
    await settle("nack", topic, sub, { receipts: first.map((m) => m.receipt), delay_seconds: 0, reason: "flaky" });
    await runCron(); // the surge starts and moves the backlog
    const stats = (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0];
    expect(stats.surge.state).toBe("active");
    const second: Awaited<ReturnType<typeof receive>> = [];
    for (let i = 0; i < 20 && second.length < 200; i++) second.push(...(await receive(topic, sub, { max_messages: 100 })));
    expect(second.length).toBe(200);
    expect(second.every((m) => m.attempt === 2)).toBe(true);
    // The last attempt failing sends it to the dead-letter topic with its reason.
    await settle("nack", topic, sub, { receipts: [second[0]!.receipt], delay_seconds: 0 });
    const dl = await createSubscription(`${topic}.dlq`, { start_position: "earliest" });
    let letters: Awaited<ReturnType<typeof receive>> = [];
    for (let i = 0; i < 20 && letters.length === 0; i++) {
      await runCron();
      letters = await receive(`${topic}.dlq`, dl, { max_messages: 10 });
    }
    expect(letters[0]?.headers["weir-nack-reason"]).toBe("flaky");
    expect(letters[0]?.headers["weir-attempts"]).toBe("2");
  });
});
