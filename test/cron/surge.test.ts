import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { SURGE_INDEX_BASE, surgePartitionName } from "../../src/shared/object-names";
import { call, createSubscription, createTopic, drain, openStream, partitionStubs, produce, receive, runCron } from "../helpers";

async function subscriptionStats(topic: string, sub: string) {
  const stats = await call("GET", `/v1/topics/${topic}/stats`);
  return stats.body.subscriptions.find((s: { name: string }) => s.name === sub);
}

async function backlog(topic: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `m-${i}`);
  for (let i = 0; i < ids.length; i += 500) {
    await produce(topic, ids.slice(i, i + 500).map((id) => ({ id, body: id })));
  }
  return ids;
}

const surge = (settings: Record<string, unknown> = {}) => ({
  surge: { enabled: true, trigger_depth: 100, factor: 4, cooldown_seconds: 0, ...settings },
});

describe("backlog surge", () => {
  it("starts on the next cron run once the backlog is over the trigger, and moves it to temporary partitions", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, surge());
    await backlog(topic, 99);
    await runCron();
    expect((await subscriptionStats(topic, sub)).surge).toMatchObject({ state: "off", partitions: 0 });

    await backlog(topic, 300);
    await runCron();
    const stats = await subscriptionStats(topic, sub);
    expect(stats.surge).toMatchObject({ state: "active", partitions: 8 });
    expect(stats.surge.temporary).toHaveLength(8);
    const inTemporary = stats.surge.temporary.reduce((n: number, p: { ready: number }) => n + p.ready, 0);
    expect(inTemporary).toBeGreaterThan(0);
    // Every message is in exactly one place: the sources' ready plus the temporary partitions' ready.
    expect(stats.ready).toBe(300);
    expect(stats.partitions.every((p: { partition: number }) => p.partition < SURGE_INDEX_BASE)).toBe(true);
  });

  it("lets consumers drain everything, each message acked exactly once, then folds back", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, surge());
    const ids = await backlog(topic, 1000);
    await runCron();
    expect((await subscriptionStats(topic, sub)).surge.state).toBe("active");

    const consumers = await Promise.all([drain(topic, sub, { batch: 50 }), drain(topic, sub, { batch: 50 })]);
    const delivered = consumers.flat();
    expect(delivered.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect(delivered.every((m) => m.attempt === 1)).toBe(true);
    // Deliveries name the message's place in the topic, not the temporary partition.
    expect(delivered.every((m) => m.partition < 2)).toBe(true);

    await runCron(); // trigger clear: draining
    await runCron(); // cool-down 0 and drained: fold back
    const after = await subscriptionStats(topic, sub);
    expect(after.surge).toMatchObject({ state: "off", partitions: 0, temporary: [] });
    expect(after).toMatchObject({ ready: 0, in_flight: 0, delayed: 0 });

    // New messages flow through the sources again.
    await produce(topic, [{ id: "after", body: 1 }]);
    expect((await drain(topic, sub)).map((m) => m.id)).toEqual(["after"]);
  });

  it("lets a stream opened before the surge deliver what moved to the temporary partitions", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, surge());
    const ids = await backlog(topic, 400);
    // Unread, the stream leases a line or two and waits for its client (back-pressure): the
    // rest of the backlog stays ready, over the trigger.
    const stream = await openStream(topic, sub, { max_messages: 400, wait_seconds: 30, heartbeat_seconds: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await runCron();
    const stats = await subscriptionStats(topic, sub);
    expect(stats.surge.state).toBe("active");
    expect(stats.surge.temporary.reduce((n: number, p: { ready: number }) => n + p.ready, 0)).toBeGreaterThan(0);

    const lines = await stream.rest();
    const delivered = lines.flatMap((l) => l.messages ?? []).map((m) => m.id);
    expect(lines.at(-1)).toMatchObject({ end: "max_messages" });
    expect(delivered.sort()).toEqual([...ids].sort());
  });

  it("leaves another subscription of the same topic alone", async () => {
    const topic = await createTopic(2);
    const surging = await createSubscription(topic, surge());
    const other = await createSubscription(topic);
    const ids = await backlog(topic, 400);
    await runCron();
    expect((await subscriptionStats(topic, surging)).surge.state).toBe("active");
    const otherStats = await subscriptionStats(topic, other);
    expect(otherStats.surge).toMatchObject({ state: "off", partitions: 0 });
    expect(otherStats.ready).toBe(400);
    expect((await drain(topic, other)).map((m) => m.id).sort()).toEqual([...ids].sort());
    expect((await drain(topic, surging)).map((m) => m.id).sort()).toEqual([...ids].sort());
  });

  it("loses and duplicates nothing when a move crashed between copying and marking moved", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, surge());
    const ids = await backlog(topic, 300);
    await runCron(); // the surge starts and moves everything
    await produce(topic, Array.from({ length: 50 }, (_, i) => ({ id: `late-${i}`, body: i })));
    ids.push(...Array.from({ length: 50 }, (_, i) => `late-${i}`));

    // Inject the crash: mark a chunk moving and copy half of it, then stop before marking it moved.
    const [source] = await partitionStubs(topic);
    const meta = await env.CATALOG.prepare(
      "SELECT t.uid AS topic, s.uid AS sub, s.surge_started_at AS gen FROM topics t JOIN subscriptions s ON s.topic = t.name WHERE t.name = ? AND s.name = ?",
    )
      .bind(topic, sub)
      .first<{ topic: string; sub: string; gen: number }>();
    const copies = await runInDurableObject<Partition, { message: unknown; offset: number }[]>(source!, (instance) =>
      (instance as unknown as { surgeMoves: { takeForSurge(uid: string, limit: number, onlyPending: boolean): { message: unknown; offset: number }[] } }).surgeMoves.takeForSurge(meta!.sub, 50, false),
    );
    expect(copies).toHaveLength(50);
    // Copy the first half where the move would have: temporary partition offset % 4.
    for (const copy of copies.slice(0, 25)) {
      const name = surgePartitionName(meta!.topic, meta!.sub, meta!.gen, copy.offset % 4);
      const temp = env.PARTITION.get(env.PARTITION.idFromName(name));
      await temp.subscribe({ uid: meta!.sub, mode: "shared", sinceMs: 0 });
      expect((await temp.append([copy.message] as Parameters<typeof temp.append>[0], null)).ok).toBe(true);
    }
    // Meanwhile nobody can receive the moving messages from the source.
    const stats = await subscriptionStats(topic, sub);
    expect(stats.ready + stats.in_flight).toBe(350 - 50 + 25);

    await runCron(); // repeats the copy (deduplicated) and marks the chunk moved
    const delivered = await drain(topic, sub, { batch: 100 });
    expect(delivered.map((m) => m.id).sort()).toEqual([...ids].sort());
  });

  it("refuses ordered subscriptions, says why in stats, and keeps their order", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered", ...surge() });
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 3}`, body: i })));
    await runCron();
    const stats = await subscriptionStats(topic, sub);
    expect(stats.surge.state).toBe("off");
    expect(stats.surge.note).toContain("ordered subscriptions are not surged");
    const seen = new Map<string, number[]>();
    // One message per key at a time: 3 a receive, each acking the last batch (~70 round trips).
    let acked: string[] = [];
    for (;;) {
      const got = await receive(topic, sub, { max_messages: 10, ...(acked.length > 0 ? { ack: acked } : {}) });
      if (got.length === 0) break;
      for (const m of got) seen.set(m.key!, [...(seen.get(m.key!) ?? []), m.body as number]);
      acked = got.map((m) => m.receipt);
    }
    expect([...seen.values()].flat()).toHaveLength(200);
    for (const bodies of seen.values()) expect(bodies).toEqual([...bodies].sort((a, b) => a - b));
  }, 30_000);

  it("refuses a seek while a surge runs", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, surge());
    await backlog(topic, 200);
    await runCron();
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/seek`, { to: "earliest" });
    expect(r.status).toBe(409);
  });
});
