import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { partitionForKey } from "../../src/shared/hash";
import { ack, call, controlTime, createSubscription, createTopic, partitionStubs, receive, runCron } from "../helpers";

// A transaction's messages in their trace (src/partition/transaction-trace.ts).

type Event = { at: string | null; event: string; subscription?: string; detail?: Record<string, unknown> };

async function prepare(topic: string, body: Record<string, unknown>): Promise<string> {
  const r = await call("POST", `/v1/topics/${topic}/transactions`, body);
  if (r.status !== 201) throw new Error(`prepare: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.transaction.id as string;
}

const trace = (topic: string, id: string) => call("GET", `/v1/topics/${topic}/messages/${id}`);
const events = (r: { body: { trace: Event[] } }) => r.body.trace.map((e) => e.event);

/** The partition's rows of one table (all partitions of the topic summed). */
async function rows(topic: string, table: "trace_events" | "txn_rolled_back" | "txn_shares"): Promise<number> {
  let n = 0;
  for (const stub of await partitionStubs(topic)) {
    n += await runInDurableObject<Partition, number>(stub, (_, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n);
  }
  return n;
}

describe("message trace of a transaction", () => {
  it("finds a prepared message, with no offset, its transaction id and a prepared event", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const txn = await prepare(topic, { messages: [{ id: "half", key: "k", headers: { v: "2" }, body: { n: 1 } }] });

    const r = await trace(topic, "half");
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({
      id: "half",
      key: "k",
      headers: { v: "2" },
      body: { n: 1 },
      partition: 0,
      offset: null,
      state: "prepared",
      transaction_id: txn,
    });
    expect(r.body.subscriptions).toEqual([]);
    expect(r.body.trace).toEqual([{ at: r.body.message.produced_at, event: "prepared", detail: { transaction: txn } }]);
  });

  it("shows prepared then committed in place of produced, and the delivery after it, writing no trace row", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const txn = await prepare(topic, { messages: [{ id: "c-1", body: 1 }, { id: "c-2", body: 2 }] });
    expect((await call("POST", `/v1/topics/${topic}/transactions/${txn}/commit`)).status).toBe(200);

    let r = await trace(topic, "c-2");
    expect(r.body.message).toMatchObject({ offset: 1, state: "stored", transaction_id: txn });
    expect(events(r)).toEqual(["prepared", "committed"]);
    const [prepared, committed] = r.body.trace as Event[];
    expect(prepared!.detail).toEqual({ transaction: txn });
    expect(Date.parse(committed!.at!)).toBeGreaterThanOrEqual(Date.parse(prepared!.at!));
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "ready", attempts: 0 }]);

    const delivered = await receive(topic, sub, { max_messages: 10 });
    await ack(topic, sub, delivered.map((m) => m.receipt));
    r = await trace(topic, "c-1");
    expect(events(r)).toEqual(["prepared", "committed", "leased", "acked"]);
    expect(r.body.subscriptions).toEqual([{ name: sub, state: "acked", attempts: 1 }]);
    expect(await rows(topic, "trace_events")).toBe(0);
  });

  it("shows prepared and committed for the messages of every partition of a transaction", async () => {
    const topic = await createTopic(4);
    await createSubscription(topic);
    // Two keys on two different partitions.
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const first = keys[0]!;
    const second = keys.find((k) => partitionForKey(k, 4) !== partitionForKey(first, 4))!;
    const txn = await prepare(topic, { messages: [{ id: "home", key: first, body: 1 }, { id: "away", key: second, body: 2 }] });

    const before = await trace(topic, "away");
    expect(before.body.message).toMatchObject({ partition: partitionForKey(second, 4), state: "prepared", transaction_id: txn });

    expect((await call("POST", `/v1/topics/${topic}/transactions/${txn}/commit`)).status).toBe(200);
    for (const [id, key] of [["home", first], ["away", second]] as const) {
      const r = await call("GET", `/v1/topics/${topic}/messages/${id}?key=${key}`);
      expect(r.body.message).toMatchObject({ partition: partitionForKey(key, 4), offset: 0, state: "stored", transaction_id: txn });
      expect(events(r)).toEqual(["prepared", "committed"]);
    }
  });

  it("shows a rolled-back message with the reason, findable until the topic's retention has passed", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const advance = await controlTime(topic);
    const txn = await prepare(topic, { messages: [{ id: "gone", body: { n: 1 } }] });
    expect((await call("POST", `/v1/topics/${topic}/transactions/${txn}/rollback`)).status).toBe(200);

    let r = await trace(topic, "gone");
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({ id: "gone", body: { n: 1 }, offset: null, state: "rolled_back", transaction_id: txn });
    expect(events(r)).toEqual(["prepared", "rolled_back"]);
    expect(r.body.trace[1]).toMatchObject({ detail: { transaction: txn, reason: "client" } });
    expect(typeof r.body.trace[1].at).toBe("string");

    const day = 24 * 3600_000;
    await advance(2 * day);
    expect((await trace(topic, "gone")).body.message.state).toBe("rolled_back");

    // Past the retention (4 days) after the rollback: forgotten with the transaction's share
    // (by the cron's sweep here: no alarm of this partition is due any more).
    await advance(2 * day + 60_000);
    await runCron();
    r = await trace(topic, "gone");
    expect(r.status).toBe(404);
    expect(await rows(topic, "txn_rolled_back")).toBe(0);
    expect(await rows(topic, "txn_shares")).toBe(0);
  });

  it("shows a transaction rolled back at its timeout with reason timeout", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const advance = await controlTime(topic);
    const txn = await prepare(topic, { messages: [{ id: "late", body: 1 }], timeout_seconds: 5 });
    await advance(6_000);
    const r = await trace(topic, "late");
    expect(r.body.message).toMatchObject({ state: "rolled_back", transaction_id: txn });
    expect(r.body.trace[1]).toMatchObject({ event: "rolled_back", detail: { transaction: txn, reason: "timeout" } });
  });

  it("tells a message produced between two committed transactions from theirs", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const first = await prepare(topic, { messages: [{ id: "t1-a", body: 1 }, { id: "t1-b", body: 2 }] });
    await call("POST", `/v1/topics/${topic}/transactions/${first}/commit`);
    await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ id: "plain", body: 3 }] });
    const second = await prepare(topic, { messages: [{ id: "t2-a", body: 4 }] });
    await call("POST", `/v1/topics/${topic}/transactions/${second}/commit`);

    const plain = await trace(topic, "plain");
    expect(plain.body.message).toMatchObject({ offset: 2, state: "stored" });
    expect(plain.body.message.transaction_id).toBeUndefined();
    expect(events(plain)).toEqual(["produced"]);
    expect((await trace(topic, "t1-b")).body.message).toMatchObject({ offset: 1, transaction_id: first });
    expect((await trace(topic, "t2-a")).body.message).toMatchObject({ offset: 3, transaction_id: second });
  });

  it("prefers the log's copy of an id to one rolled back earlier", async () => {
    const topic = await createTopic(1);
    await createSubscription(topic);
    const txn = await prepare(topic, { messages: [{ id: "again", body: 1 }] });
    await call("POST", `/v1/topics/${topic}/transactions/${txn}/rollback`);
    await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ id: "again", body: 2 }] });
    const r = await trace(topic, "again");
    expect(r.body.message).toMatchObject({ state: "stored", offset: 0, body: 2 });
    expect(r.body.message.transaction_id).toBeUndefined();
    expect(events(r)).toEqual(["produced"]);
  });
});
