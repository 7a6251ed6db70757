import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog";
import { CronState } from "../../src/catalog/cron-state";
import { sweepPartition } from "../../src/routing/sweep";
import { ensureSubscriptionSpec } from "../../src/routing/specs";
import { call, createSubscription, createTopic, partitionStubs, produce, receive, runCron, settle } from "../helpers";

describe("the cron (edges F-2, F-6, F-7)", () => {
  it("holds a lease per duty: a second run while the first holds it skips that duty", async () => {
    const state = new CronState(env.CATALOG);
    const now = Date.now();
    expect(await state.acquire("test-duty", "run-a", now, 60_000)).toBe(true);
    expect(await state.acquire("test-duty", "run-b", now + 1, 60_000)).toBe(false);
    // A crashed run's lease runs out by itself.
    expect(await state.acquire("test-duty", "run-b", now + 60_000, 60_000)).toBe(true);
    await state.release("test-duty", "run-b");
    expect(await state.acquire("test-duty", "run-c", now + 60_001, 60_000)).toBe(true);
  });

  it("changes a surge's state only from the state it read (compare and set)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { surge: { enabled: true, trigger_depth: 100 } });
    const catalog = new Catalog(env.CATALOG);
    const record = (await catalog.readSubscription(topic, sub))!;
    const off = { surgeState: "off", surgePartitions: 0, surgeStartedAt: null, surgeCalmSince: null, surgeNote: null } as const;
    const active = { ...off, surgeState: "active", surgePartitions: 4, surgeStartedAt: 1 } as const;
    expect(await catalog.setSurge(record, active, off)).toBe(true);
    // A run that read "off" before and starts its own surge changes nothing.
    expect(await catalog.setSurge(record, { ...active, surgeStartedAt: 2 }, off)).toBe(false);
    expect((await catalog.readSubscription(topic, sub))!.surgeStartedAt).toBe(1);
  });

  it("sweeps with a subscription list read before a subscription was created, and does not forget that subscription", async () => {
    const topic = await createTopic(1);
    const topicRecord = (await new Catalog(env.CATALOG).readTopic(topic))!;
    const staleSpecs: never[] = []; // read before the subscription below existed
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "a", body: 1 }]);
    await sweepPartition(env, topicRecord, 0, staleSpecs);
    expect((await receive(topic, sub)).map((m) => m.id)).toEqual(["a"]);
  });

  it("sweeps with a subscription list read before a subscription was deleted, and does not bring it back", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const catalog = new Catalog(env.CATALOG);
    const topicRecord = (await catalog.readTopic(topic))!;
    const spec = await ensureSubscriptionSpec(env, topicRecord, (await catalog.readSubscription(topic, sub))!);
    expect((await call("DELETE", `/v1/topics/${topic}/subscriptions/${sub}`)).status).toBe(204);
    await sweepPartition(env, topicRecord, 0, [spec]);
    const [stub] = await partitionStubs(topic);
    expect((await stub!.stats()).subscriptions.map((s) => s.uid)).not.toContain(spec.uid);
  });

  it("forgets a subscription a partition serves that the catalog does not have (deleted before tombstones)", async () => {
    const topic = await createTopic(1);
    const [stub] = await partitionStubs(topic);
    await stub!.subscribe({ uid: "ORPHAN", mode: "shared", sinceMs: 0 });
    const topicRecord = (await new Catalog(env.CATALOG).readTopic(topic))!;
    expect((await sweepPartition(env, topicRecord, 0, [])).forgotten).toBe(1);
    expect((await stub!.stats()).subscriptions.map((s) => s.uid)).not.toContain("ORPHAN");
  });

  it("run twice at once, again and again, during a surge under produce and consume traffic: every id delivered, none after an ok ack", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, {
      visibility_timeout_seconds: 30,
      surge: { enabled: true, trigger_depth: 50, factor: 2, cooldown_seconds: 0 },
    });
    const produced: string[] = [];
    const acked = new Set<string>();
    const redeliveredAfterAck: string[] = [];
    let producing = true;
    const producer = (async () => {
      for (let batch = 0; batch < 12; batch++) {
        const ids = Array.from({ length: 50 }, (_, i) => `m-${batch}-${i}`);
        await produce(topic, ids.map((id) => ({ id, body: id })));
        produced.push(...ids);
      }
      producing = false;
    })();
    const consumer = (async () => {
      let idle = 0;
      while (producing || idle < 3) {
        const got = await receive(topic, sub, { max_messages: 25 });
        if (got.length === 0) {
          idle++;
          continue;
        }
        idle = 0;
        for (const m of got) if (acked.has(m.id)) redeliveredAfterAck.push(m.id);
        const results = await settle("ack", topic, sub, { receipts: got.map((m) => m.receipt) });
        got.forEach((m, i) => {
          if (results[i]!.ok) acked.add(m.id);
        });
      }
    })();
    let sawSurge = false;
    const crons = (async () => {
      for (let round = 0; round < 6; round++) {
        await Promise.all([runCron(), runCron()]);
        const stats = (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0];
        if (stats.surge.state !== "off") sawSurge = true;
      }
    })();
    await Promise.all([producer, consumer, crons]);
    // Let the surge fold back, then take whatever is left.
    for (let round = 0; round < 4; round++) await Promise.all([runCron(), runCron()]);
    for (;;) {
      const got = await receive(topic, sub, { max_messages: 100 });
      if (got.length === 0) break;
      for (const m of got) if (acked.has(m.id)) redeliveredAfterAck.push(m.id);
      await settle("ack", topic, sub, { receipts: got.map((m) => m.receipt) });
      for (const m of got) acked.add(m.id);
    }
    expect(sawSurge).toBe(true);
    expect(redeliveredAfterAck).toEqual([]);
    expect([...acked].sort()).toEqual([...produced].sort());
    const stats = (await call("GET", `/v1/topics/${topic}/stats`)).body.subscriptions[0];
    expect(stats).toMatchObject({ ready: 0, in_flight: 0, delayed: 0 });
  }, 60_000);
});
