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

describe("moving rows no surge will finish", () => {
  it("return to ready at the sweep once they have been moving for long and the subscription's surge is off (F-2)", async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const { catalogUids, controlTime, partitionStubs } = await import("../helpers");
    const { MOVING_STALE_MS } = await import("../../src/shared/limits");
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, body: i })));
    const { subscriptionUid } = await catalogUids(topic, sub);
    const [stub] = await partitionStubs(topic);
    const advance = await controlTime(topic);
    // A move that crashed after marking, of a surge that then ended: nothing will finish it.
    await runInDurableObject(stub!, (instance) => {
      (instance as unknown as { surgeMoves: { takeForSurge(uid: string, limit: number, onlyPending: boolean): unknown[] } }).surgeMoves.takeForSurge(subscriptionUid, 10, false);
    });
    const before = (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0];
    expect(before.ready).toBe(10);
    await runCron();
    expect((await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0].ready).toBe(10); // not yet: could be a live move
    await advance(MOVING_STALE_MS + 1_000);
    await runCron();
    const after = (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0];
    expect(after.ready).toBe(20);
    const got = await receive(topic, sub, { max_messages: 50 });
    expect(got.map((m) => m.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
  });
});

describe("cancel during a surge", () => {
  const surge = { surge: { enabled: true, trigger_depth: 100, factor: 2, cooldown_seconds: 0 } };

  it("cancels a message already moved to a temporary partition, everywhere (F-13)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, surge);
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, body: i })));
    await runCron(); // moved
    expect((await call("DELETE", `/v1/topics/${topic}/messages/m7`)).status).toBe(204);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(...(await receive(topic, sub, { max_messages: 100 })).map((m) => m.id));
    expect(ids).not.toContain("m7");
    expect(ids.length).toBe(199);
  });

  it("cancels a message while it is being moved, everywhere (F-13)", async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const { catalogUids, partitionStubs } = await import("../helpers");
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, surge);
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, body: i })));
    const { subscriptionUid } = await catalogUids(topic, sub);
    const [stub] = await partitionStubs(topic);
    // A move marks a chunk moving and stops there (as a crash would): m3 is among it.
    await runInDurableObject(stub!, (instance) => {
      (instance as unknown as { surgeMoves: { takeForSurge(uid: string, limit: number, onlyPending: boolean): unknown[] } }).surgeMoves.takeForSurge(subscriptionUid, 10, false);
    });
    expect((await call("DELETE", `/v1/topics/${topic}/messages/m3`)).status).toBe(204);
    await runCron(); // the surge starts, finishes the half-done chunk and moves the rest
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(...(await receive(topic, sub, { max_messages: 100 })).map((m) => m.id));
    expect(ids).not.toContain("m3");
    expect(ids.length).toBe(199);
  });
});
