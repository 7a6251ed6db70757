import { describe, expect, it } from "vitest";
import { call, controlTime, createSubscription, createTopic, drain, produce } from "../helpers";

const seek = (topic: string, sub: string, to: unknown) =>
  call("POST", `/v1/topics/${topic}/subscriptions/${sub}/seek`, { to });

describe("seek", () => {
  it("replays from explicit partition offsets, exactly from there", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const results = await produce(topic, Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, key: `k${i % 2}`, body: i })));
    await drain(topic, sub);
    const p0 = results.filter((r) => r.partition === 0);
    const from = p0[3]!.offset;
    const r = await seek(topic, sub, { "0": from });
    expect(r.status).toBe(200);
    expect(r.body.partitions).toEqual([{ partition: 0, offset: from }]);
    const replayed = await drain(topic, sub);
    expect(replayed.map((m) => m.id).sort()).toEqual(p0.slice(3).map((x) => x.id).sort());
    expect(replayed.every((m) => m.attempt === 1)).toBe(true);
  });

  it("replays from a timestamp exactly the messages produced since", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "old-1", body: 1 }, { id: "old-2", body: 2 }]);
    await advance(60_000);
    const boundary = new Date(Date.now() + 30_000).toISOString();
    await produce(topic, [{ id: "new-1", body: 3 }, { id: "new-2", body: 4 }]);
    await drain(topic, sub);
    expect((await seek(topic, sub, boundary)).status).toBe(200);
    expect((await drain(topic, sub)).map((m) => m.id).sort()).toEqual(["new-1", "new-2"]);
  });

  it("replays everything from earliest and nothing from latest", async () => {
    const topic = await createTopic(3);
    const sub = await createSubscription(topic);
    await produce(topic, Array.from({ length: 9 }, (_, i) => ({ id: `m${i}`, body: i })));
    await drain(topic, sub, { ack: false });
    await seek(topic, sub, "earliest");
    expect((await drain(topic, sub)).length).toBe(9);
    await produce(topic, [{ id: "x", body: 0 }]);
    await seek(topic, sub, "latest");
    expect(await drain(topic, sub)).toEqual([]);
  });

  it("is reported with the subscription and refuses partitions the topic does not have", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    await seek(topic, sub, "earliest");
    const read = await call("GET", `/v1/topics/${topic}/subscriptions/${sub}`);
    expect(read.body.last_seek).toMatchObject({ to: "earliest" });
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].last_seek).toMatchObject({ to: "earliest" });
    const bad = await seek(topic, sub, { "5": 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("to.5");
    expect((await seek(topic, sub, "yesterday")).status).toBe(400);
  });
});
