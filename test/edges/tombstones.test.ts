import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RetireWork } from "../../src/catalog/tombstones";
import { surgePartitionName } from "../../src/shared/object-names";
import { call, catalogUids, createSubscription, createTopic, partitionStubs, produce, receive, runCron } from "../helpers";

const anyMessage = [{ id: "x", idFromProducer: true, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null }];

async function tombstoneCount(): Promise<number> {
  return (await env.CATALOG.prepare("SELECT COUNT(*) AS n FROM tombstones").first<{ n: number }>())!.n;
}

describe("deletions (edges F-14, F-6)", () => {
  it("retire a deleted topic's partitions in the request, leaving no tombstone behind", async () => {
    const before = await tombstoneCount();
    const topic = await createTopic(3);
    await produce(topic, [{ id: "a", body: 1 }]);
    const stubs = await partitionStubs(topic);
    expect((await call("DELETE", `/v1/topics/${topic}`)).status).toBe(204);
    for (const stub of stubs) expect(await stub.append(anyMessage)).toEqual({ ok: false, code: "topic_deleted" });
    expect(await tombstoneCount()).toBe(before);
  });

  it("are finished by the cron when the request could not: a tombstone left behind is retired", async () => {
    const topic = await createTopic(2);
    await produce(topic, [{ id: "a", body: 1 }]);
    const stubs = await partitionStubs(topic);
    const { topicUid } = await catalogUids(topic);
    // What a request that deleted the rows and then failed to reach the partitions leaves.
    const work: RetireWork = { topic, topicUid, partitions: 2, destroyTopic: true, forgetSubscription: null, surges: [] };
    await env.CATALOG.batch([
      env.CATALOG.prepare("DELETE FROM topics WHERE uid = ?").bind(topicUid),
      env.CATALOG.prepare("INSERT INTO tombstones (work, created_at, next_at) VALUES (?, 0, 0)").bind(JSON.stringify(work)),
    ]);
    await runCron();
    for (const stub of stubs) expect(await stub.append(anyMessage)).toEqual({ ok: false, code: "topic_deleted" });
    const left = await env.CATALOG.prepare("SELECT COUNT(*) AS n FROM tombstones WHERE work = ?").bind(JSON.stringify(work)).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });

  it("of a subscription read its surge from D1, not from a cache: temporary partitions that started seconds ago are destroyed", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await receive(topic, sub); // this isolate's cache now holds the subscription with no surge
    const { topicUid, subscriptionUid } = await catalogUids(topic, sub);
    // Another isolate's cron starts a surge: D1 changes, this cache does not hear of it.
    await env.CATALOG.prepare("UPDATE subscriptions SET surge_state = 'active', surge_partitions = 2, surge_started_at = 77 WHERE uid = ?")
      .bind(subscriptionUid)
      .run();
    const temps = [0, 1].map((k) => env.PARTITION.get(env.PARTITION.idFromName(surgePartitionName(topicUid, subscriptionUid, 77, k))));
    for (const temp of temps) expect((await temp.append(anyMessage)).ok).toBe(true);
    expect((await call("DELETE", `/v1/topics/${topic}/subscriptions/${sub}`)).status).toBe(204);
    for (const temp of temps) expect(await temp.append(anyMessage)).toEqual({ ok: false, code: "topic_deleted" });
  });

  it("of a subscription are for good: a call from a stale catalog cache does not bring it back on a partition", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "a", body: 1 }]);
    const { subscriptionUid } = await catalogUids(topic, sub);
    expect((await call("DELETE", `/v1/topics/${topic}/subscriptions/${sub}`)).status).toBe(204);
    const [stub] = await partitionStubs(topic);
    // A Worker whose cache still has the subscription receives for it.
    const lease = await stub!.lease({ uid: subscriptionUid, mode: "shared", sinceMs: 0 }, 10, 30_000);
    expect(lease).toMatchObject({ ok: true, messages: [] });
    await produce(topic, [{ id: "b", body: 2 }]);
    const stats = await stub!.stats();
    expect(stats.subscriptions.map((s) => s.uid)).not.toContain(subscriptionUid);
  });
});
