// Edge review F-1 and F-11 (issue 14 item 1): byte budgets and rows too large for SQLite.
import { describe, expect, it } from "vitest";
import { LEASE_BUDGET_BYTES } from "../../src/shared/limits";
import { call, createSubscription, createTopic, produce, receive } from "../helpers";

describe("byte budgets", () => {
  it("leases at most the byte budget and leaves the rest ready, never leased and not returned (F-1)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const body = "a".repeat(1_000_000);
    const count = Math.ceil(LEASE_BUDGET_BYTES / 1_000_000) + 2;
    for (let i = 0; i < count; i++) await produce(topic, [{ body }]);
    const got = await receive(topic, sub, { max_messages: count });
    expect(got.length).toBeGreaterThan(0);
    expect(got.length * 1_000_000).toBeLessThanOrEqual(LEASE_BUDGET_BYTES);
    const stats = (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0];
    expect(stats.in_flight).toBe(got.length);
    expect(stats.ready).toBe(count - got.length);
  });

  it("refuses with 413 message_too_large a message whose stored row would pass SQLite's 2 MB (F-11)", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    // Control characters are stored escaped (\u0001: six bytes each).
    const headers = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`h${i}`, "\u0001".repeat(4096)]));
    const r = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body: "b".repeat(1_000_000), headers }] });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("message_too_large");
    const stats = (await call("GET", `/v1/topics/${topic}/stats`)).body;
    expect(stats.partitions[0].messages).toBe(0);
  });
});

describe("surge chunks", () => {
  it("are cut by bytes as well as by count (F-1)", async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const { catalogUids, partitionStubs } = await import("../helpers");
    const { SURGE_CHUNK_BYTES } = await import("../../src/shared/limits");
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const count = Math.ceil(SURGE_CHUNK_BYTES / 1_000_000) + 2;
    for (let i = 0; i < count; i++) await produce(topic, [{ body: "s".repeat(1_000_000) }]);
    const { subscriptionUid } = await catalogUids(topic, sub);
    const [stub] = await partitionStubs(topic);
    const taken = await runInDurableObject(stub!, (instance) =>
      (instance as unknown as { surgeMoves: { takeForSurge(uid: string, limit: number, onlyPending: boolean): unknown[] } }).surgeMoves.takeForSurge(subscriptionUid, 500, false).length,
    );
    expect(taken).toBeGreaterThan(0);
    expect(taken * 1_000_000).toBeLessThanOrEqual(SURGE_CHUNK_BYTES);
  });
});
