// Edge review findings about acks, extends, cancels and re-produce (issue 14 items 3 and 9),
// written against the code before the fix.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { ack, call, catalogUids, controlTime, createSubscription, createTopic, partitionStubs, produce, receive, settle } from "../helpers";

type Takes = { surgeMoves: { takeForSurge(uid: string, limit: number, onlyPending: boolean): unknown[] } };

describe("settling at the edges", () => {
  it("stores an id anew when it is produced again after a cancel (F-13)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "job-1", body: "first", delay_seconds: 3600 }]);
    expect((await call("DELETE", `/v1/topics/${topic}/messages/job-1`)).status).toBe(204);
    const again = await produce(topic, [{ id: "job-1", body: "second" }]);
    expect(again[0]!.duplicate).toBe(false);
    const got = await receive(topic, sub, { max_messages: 10 });
    expect(got.map((m) => m.body)).toEqual(["second"]);
  });

  it("refuses ack and extend of a message being moved by a surge, per item (F-3)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 1 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "a", body: 1 }, { id: "b", body: 2 }]);
    const [first, second] = await receive(topic, sub, { max_messages: 2 });
    await advance(2_000); // both leases end: ready again, receipts not yet stale
    const { subscriptionUid } = await catalogUids(topic, sub);
    const [stub] = await partitionStubs(topic);
    const taken = await runInDurableObject<Partition, number>(stub!, (instance) =>
      (instance as unknown as Takes).surgeMoves.takeForSurge(subscriptionUid, 10, false).length,
    );
    expect(taken).toBe(2);
    const acked = await ack(topic, sub, [first!.receipt]);
    expect(acked[0]!.ok).toBe(false);
    const extended = await settle("extend", topic, sub, { receipts: [second!.receipt], visibility_timeout_seconds: 30 });
    expect(extended[0]!.ok).toBe(false);
  });

  it("answers not_in_flight to an ack of a dead-lettered message, and ok to a repeated ack (F-16, guarantee 5)", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}.dlq`, { partitions: 1 });
    const sub = await createSubscription(topic, { dead_letter_topic: `${topic}.dlq` });
    await produce(topic, [{ id: "x", body: 1 }, { id: "y", body: 2 }]);
    const [x, y] = await receive(topic, sub, { max_messages: 2 });
    await settle("nack", topic, sub, { receipts: [x!.receipt], dead_letter: true });
    const late = await ack(topic, sub, [x!.receipt]);
    expect(late[0]).toMatchObject({ ok: false, error: { code: "not_in_flight" } });
    expect((await ack(topic, sub, [y!.receipt]))[0]!.ok).toBe(true);
    expect((await ack(topic, sub, [y!.receipt]))[0]!.ok).toBe(true);
  });
});
