import { abortAllDurableObjects, createScheduledController, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { Partition } from "../../src/partition/partition";
import type { Transactions } from "../../src/partition/transactions";
import { transactionHome } from "../../src/shared/partition-api";
import { call, controlTime, createSubscription, createTopic, drain, partitionStubs, receive } from "../helpers";

// Crash points of a transaction that spans partitions: the home partition keeps the decision;
// these tests stop the work between the decision and its application, evict every object, and
// check that each transaction ends wholly committed or wholly rolled back, nothing twice.
// A stub does not survive abortAllDurableObjects(): the tests take new ones after it.

/** The transaction state of a partition, reached past the RPC surface (fault injection only). */
type Inside = { transactions: Transactions };

/** A transaction over every partition of a new 4-partition topic, with a subscription. */
async function spanning() {
  const topic = await createTopic(4);
  const sub = await createSubscription(topic);
  const messages = Array.from({ length: 16 }, (_, i) => ({ id: `m${i}`, key: `key-${i}`, body: i }));
  const r = await call("POST", `/v1/topics/${topic}/transactions`, { messages, timeout_seconds: 10 });
  expect(r.status).toBe(201);
  const id = r.body.transaction.id as string;
  const partitions = new Set<number>(r.body.results.map((x: { partition: number }) => x.partition));
  expect(partitions.size).toBeGreaterThan(2);
  const stubs = await partitionStubs(topic);
  const home = transactionHome(id)!;
  return { topic, sub, id, ids: messages.map((m) => m.id), stubs, home, others: [...partitions].filter((p) => p !== home) };
}

/** Records the decision on the home partition only, as if the object were evicted right after. */
async function decideOnly(stub: DurableObjectStub<Partition>, id: string, decision: "committed" | "rolled_back") {
  await runInDurableObject<Partition, void>(stub, (instance) => {
    const outcome = (instance as unknown as Inside).transactions.decide(id, decision, decision === "rolled_back" ? "client" : null);
    expect(outcome.ok).toBe(true);
  });
}

async function runCron(): Promise<void> {
  await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env);
}

describe("transaction crash points", () => {
  it("keeps prepared messages across a restart of every object, still invisible, and commits them after it", async () => {
    const t = await spanning();
    await abortAllDurableObjects();
    expect(await receive(t.topic, t.sub, { max_messages: 100 })).toEqual([]);
    expect((await call("POST", `/v1/topics/${t.topic}/transactions/${t.id}/commit`)).status).toBe(200);
    expect((await drain(t.topic, t.sub)).map((m) => m.id).sort()).toEqual([...t.ids].sort());
  });

  it("a commit decided and then evicted before any other partition heard of it is applied by the home's alarm, once", async () => {
    const t = await spanning();
    await decideOnly(t.stubs[t.home]!, t.id, "committed");
    await abortAllDurableObjects();

    // A consumer may see the home's part before the others'.
    const early = await receive(t.topic, t.sub, { max_messages: 100 });
    expect(early.every((m) => m.partition === t.home)).toBe(true);
    expect((await call("GET", `/v1/topics/${t.topic}/transactions/${t.id}`)).body.transaction.state).toBe("committed");

    const advance = await controlTime(t.topic);
    await advance(6_000);
    const rest = await drain(t.topic, t.sub);
    const all = [...early.map((m) => m.id), ...rest.map((m) => m.id)];
    // `early` was not acked: its messages come again after their lease; count each id once here.
    expect([...new Set(all)].sort()).toEqual([...t.ids].sort());
    const again = await call("POST", `/v1/topics/${t.topic}/transactions/${t.id}/commit`);
    expect(again.status).toBe(200);
    const places = again.body.results.map((r: { partition: number; offset: number }) => `${r.partition}/${r.offset}`);
    expect(new Set(places).size).toBe(t.ids.length);
  });

  it("a commit applied to some partitions and then evicted is applied to the rest, nothing twice", async () => {
    const t = await spanning();
    await decideOnly(t.stubs[t.home]!, t.id, "committed");
    const applied = await t.stubs[t.others[0]!]!.applyTransaction(t.id, "committed");
    expect(applied.ok).toBe(true);
    await abortAllDurableObjects();
    t.stubs = await partitionStubs(t.topic);
    // The commit repeated by the client while a partition has not applied it yet: it tells them.
    const committed = await call("POST", `/v1/topics/${t.topic}/transactions/${t.id}/commit`);
    expect(committed.status).toBe(200);
    const onFirst = committed.body.results.filter((r: { partition: number }) => r.partition === t.others[0]);
    expect(onFirst.map((r: { offset: number }) => r.offset)).toEqual(applied.ok ? applied.results.map((a) => a.offset) : []);
    const got = await drain(t.topic, t.sub);
    expect(got.map((m) => m.id).sort()).toEqual([...t.ids].sort());
    for (const stub of t.stubs) {
      const stats = await stub.stats();
      expect(stats.messages).toBe(got.filter((m) => t.stubs[m.partition] === stub).length);
    }
  });

  it("a rollback decided and then evicted is applied everywhere by the home's alarm; nothing is delivered", async () => {
    const t = await spanning();
    await decideOnly(t.stubs[t.home]!, t.id, "rolled_back");
    await abortAllDurableObjects();
    t.stubs = await partitionStubs(t.topic);
    const advance = await controlTime(t.topic);
    await advance(6_000);
    expect(await drain(t.topic, t.sub)).toEqual([]);
    for (const stub of t.stubs) {
      const held = await runInDurableObject<Partition, number>(stub, (_, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM txn_messages").one().n,
      );
      expect(held).toBe(0);
    }
  });

  it("shares whose home never recorded the transaction (a crash inside prepare) are rolled back after the timeout", async () => {
    const t = await spanning();
    // As if the Worker died after the other partitions stored their shares, before the home's record.
    await runInDurableObject<Partition, void>(t.stubs[t.home]!, (_, state) => {
      state.storage.sql.exec("DELETE FROM transactions WHERE id = ?", t.id);
      state.storage.sql.exec("DELETE FROM txn_messages WHERE txn = ?", t.id);
      state.storage.sql.exec("DELETE FROM txn_shares WHERE txn = ?", t.id);
    });
    await abortAllDurableObjects();
    const advance = await controlTime(t.topic);
    await advance(41_000);
    expect(await drain(t.topic, t.sub)).toEqual([]);
    // The home now knows the id as rolled back, so a late record of it is refused.
    expect((await call("GET", `/v1/topics/${t.topic}/transactions/${t.id}`)).body.transaction).toMatchObject({
      state: "rolled_back",
      reason: "timeout",
    });
    expect((await call("POST", `/v1/topics/${t.topic}/transactions/${t.id}/commit`)).status).toBe(409);
  });

  it("the cron re-arms a home partition whose alarm was lost, and the decision reaches every partition", async () => {
    const t = await spanning();
    await decideOnly(t.stubs[t.home]!, t.id, "committed");
    await runInDurableObject<Partition, void>(t.stubs[t.home]!, async (_, state) => {
      await state.storage.deleteAlarm();
    });
    await abortAllDurableObjects();
    t.stubs = await partitionStubs(t.topic);
    const advance = await controlTime(t.topic);
    await advance(6_000, { runAlarms: false });
    expect(await runDurableObjectAlarm(t.stubs[t.home]!)).toBe(false);
    await runCron();
    expect(await runDurableObjectAlarm(t.stubs[t.home]!)).toBe(true);
    const got = await drain(t.topic, t.sub);
    expect(got.map((m) => m.id).sort()).toEqual([...t.ids].sort());
  });

  it("a late prepare of a transaction already rolled back is refused, and stores nothing", async () => {
    const t = await spanning();
    expect((await call("POST", `/v1/topics/${t.topic}/transactions/${t.id}/rollback`)).status).toBe(200);
    const stub = t.stubs[t.others[0]!]!;
    const context = await runInDurableObject<Partition, unknown>(stub, (_, state) =>
      JSON.parse(state.storage.sql.exec<{ value: string }>("SELECT value FROM settings WHERE name = 'context'").one().value),
    );
    const share = {
      id: t.id,
      home: t.home,
      preparedAt: Date.now(),
      expiresAt: Date.now() + 10_000,
      messages: [{ id: "late", idFromProducer: true, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null }],
    };
    const outcome = await stub.prepareTransaction(share, context as Parameters<Partition["prepareTransaction"]>[1], null);
    expect(outcome).toEqual({ ok: false, code: "transaction_resolved" });
    expect(await drain(t.topic, t.sub)).toEqual([]);
  });
});
