// Edge review F-10 (issue 14 item 6): overflow drop_oldest drops a bounded number per append;
// the alarm goes on until the backlog fits.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import type { PartitionLog } from "../../src/partition/log";
import { DROP_OLDEST_PER_APPEND } from "../../src/shared/limits";
import { call, controlTime, createSubscription, createTopic, partitionStubs, produce } from "../helpers";

async function ready(topic: string): Promise<number> {
  return (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0].ready;
}

describe("overflow: drop_oldest", () => {
  it("drops at most a bounded number per append, and the alarm drops the rest", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const advance = await controlTime(topic);
    // Alarms set from here on are an hour ahead of the wall clock: none fires by itself between
    // the append and the look below; advance() runs them.
    await advance(3_600_000, { runAlarms: false });
    for (let i = 0; i < 1000; i += 500) await produce(topic, Array.from({ length: 500 }, (_, j) => ({ body: i + j })));
    expect((await call("PUT", `/v1/topics/${topic}`, { max_messages: 100, overflow: "drop_oldest" })).status).toBe(200);
    await produce(topic, [{ body: "one more" }]);
    // What one append did, seen in the same turn (before the alarm can run).
    const [stub] = await partitionStubs(topic);
    const afterOneAppend = await runInDurableObject<Partition, number>(stub!, (instance) => {
      const log = (instance as unknown as { log: PartitionLog }).log;
      log.append([{ id: "x", idFromProducer: false, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null }]);
      return log.stats().subscriptions[0]!.ready;
    });
    expect(afterOneAppend).toBeGreaterThan(100);
    expect(afterOneAppend).toBeGreaterThanOrEqual(1002 - 2 * DROP_OLDEST_PER_APPEND);
    for (let i = 0; i < 3; i++) await advance(0);
    expect(await ready(topic)).toBe(100);
  });
});
