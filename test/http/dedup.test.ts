import { describe, expect, it } from "vitest";
import { call, controlTime, createSubscription, createTopic, drain, produce } from "../helpers";

describe("deduplication", () => {
  it("stores a keyless id once across a multi-partition topic", async () => {
    const topic = await createTopic(8);
    const sub = await createSubscription(topic);
    const first = await produce(topic, Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, body: i })));
    const again = await produce(topic, Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, body: i })));
    expect(again.every((r) => r.duplicate)).toBe(true);
    expect(again.map((r) => [r.partition, r.offset])).toEqual(first.map((r) => [r.partition, r.offset]));
    expect(new Set(first.map((r) => r.partition)).size).toBeGreaterThan(1);
    expect((await drain(topic, sub)).length).toBe(20);
  });

  it("stores nothing twice when a batch that partly succeeded is retried", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const batch = Array.from({ length: 10 }, (_, i) => ({ id: `b${i}`, key: `k${i}`, body: i }));
    await produce(topic, batch.slice(0, 6));
    const retried = await produce(topic, batch);
    expect(retried.map((r) => r.duplicate)).toEqual([true, true, true, true, true, true, false, false, false, false]);
    expect((await drain(topic, sub)).map((m) => m.id).sort()).toEqual(batch.map((m) => m.id).sort());
  });

  it("stores an id repeated inside one batch once, and answers the copy with the first one's place", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const results = await produce(topic, [
      { id: "same", body: "first" },
      { id: "other", body: "x" },
      { id: "same", body: "second" },
    ]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false, true]);
    expect(results[2]!.offset).toBe(results[0]!.offset);
    expect((await drain(topic, sub)).map((m) => m.body)).toEqual(["first", "x"]);
  });

  it("stores a repeated id again once the window has passed", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { dedup_window_seconds: 60 });
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    const first = await produce(topic, [{ id: "x", body: 1 }]);
    await advance(59_000);
    expect((await produce(topic, [{ id: "x", body: 2 }]))[0]).toMatchObject({ duplicate: true, offset: first[0]!.offset });
    await advance(2_000);
    const later = await produce(topic, [{ id: "x", body: 3 }]);
    expect(later[0]).toMatchObject({ duplicate: false, offset: first[0]!.offset + 1 });
    expect((await drain(topic, sub)).map((m) => m.body)).toEqual([1, 3]);
  });

  it("refuses a window longer than the retention", async () => {
    const r = await call("PUT", `/v1/topics/${(await createTopic(1))}`, { dedup_window_seconds: 30 * 86400 });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("dedup_window_seconds");
  });
});
