import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { controlTime, createSubscription, createTopic, partitionStubs, produce, receive, runCron } from "../helpers";

describe("cron sweep", () => {
  it("redelivers an expired lease to a waiting consumer when the partition's alarm was lost", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 10 });
    const advance = await controlTime(topic);
    const [stub] = await partitionStubs(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    await receive(topic, sub);
    await runInDurableObject<Partition, void>(stub!, async (_instance, state) => {
      await state.storage.deleteAlarm();
    });
    const waiting = receive(topic, sub, { wait_seconds: 20 });
    await new Promise((r) => setTimeout(r, 100));
    await advance(11_000, { runAlarms: false });
    await runCron();
    const got = await waiting;
    expect(got.map((m) => [m.id, m.attempt])).toEqual([["m", 2]]);
  });

  it("re-arms a partition's alarm", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 60 });
    const [stub] = await partitionStubs(topic);
    await produce(topic, [{ body: 1 }]);
    await receive(topic, sub);
    const alarmOf = () => runInDurableObject<Partition, number | null>(stub!, (_i, state) => state.storage.getAlarm());
    expect(await alarmOf()).not.toBeNull();
    await runInDurableObject<Partition, void>(stub!, async (_i, state) => state.storage.deleteAlarm());
    expect(await alarmOf()).toBeNull();
    await runCron();
    expect(await alarmOf()).toBeGreaterThan(Date.now());
  });

  it("drops the delivery state of a subscription the catalog no longer has", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const [stub] = await partitionStubs(topic);
    await stub!.subscribe({ uid: "ORPHAN", mode: "shared", sinceMs: 0 });
    await produce(topic, [{ body: 1 }]);
    const before = await stub!.stats();
    expect(before.subscriptions.map((s) => s.uid)).toContain("ORPHAN");
    await runCron();
    const after = await stub!.stats();
    expect(after.subscriptions.map((s) => s.uid)).not.toContain("ORPHAN");
    expect(after.subscriptions).toHaveLength(1);
  });
});
