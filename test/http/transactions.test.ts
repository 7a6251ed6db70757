import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { transactionHome } from "../../src/shared/partition-api";
import {
  ack,
  call,
  controlTime,
  createSubscription,
  createTopic,
  drain,
  partitionStubs,
  produce,
  receive,
} from "../helpers";

// Transactions through the API: every state transition, the check-backs, dedup and limits.
// Crash points are in test/partition/transactions.test.ts.

async function prepare(topic: string, body: Record<string, unknown>) {
  const r = await call("POST", `/v1/topics/${topic}/transactions`, body);
  if (r.status !== 201) throw new Error(`prepare: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { transaction: { id: string; state: string; checks: number }; results: { id: string; partition: number }[] };
}

const commit = (topic: string, id: string) => call("POST", `/v1/topics/${topic}/transactions/${id}/commit`);
const rollback = (topic: string, id: string) => call("POST", `/v1/topics/${topic}/transactions/${id}/rollback`);
const get = (topic: string, id: string) => call("GET", `/v1/topics/${topic}/transactions/${id}`);

/** Rows of prepared messages held by every partition of the topic. */
async function preparedRows(topic: string): Promise<number> {
  let n = 0;
  for (const stub of await partitionStubs(topic)) {
    n += await runInDurableObject<Partition, number>(stub, (_, state) => {
      return state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM txn_messages").one().n;
    });
  }
  return n;
}

type Answer = (url: string, body: string) => Promise<Response>;

/** Replaces the check-back sender of the transaction's home partition; returns the calls made. */
async function answerChecks(topic: string, id: string, answer: Answer): Promise<{ url: string; body: unknown }[]> {
  const calls: { url: string; body: unknown }[] = [];
  const stub = (await partitionStubs(topic))[transactionHome(id)!]!;
  await runInDurableObject<Partition, void>(stub, (instance) => {
    instance.checkBack = async (url, body) => {
      calls.push({ url, body: JSON.parse(body) });
      return answer(url, body);
    };
  });
  return calls;
}

const decision = (value: string) => async () => Response.json({ decision: value });

describe("transactions", () => {
  it("hide prepared messages from every subscription until the commit, then deliver them once", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const other = await createSubscription(topic, { mode: "ordered" });
    const { transaction, results } = await prepare(topic, { messages: [{ id: "a", body: 1 }, { id: "b", body: 2 }] });
    expect(transaction.state).toBe("prepared");
    expect(results).toEqual([{ id: "a", partition: 0 }, { id: "b", partition: 0 }]);
    expect(await receive(topic, sub)).toEqual([]);
    expect(await receive(topic, other)).toEqual([]);

    const committed = await commit(topic, transaction.id);
    expect(committed.status).toBe(200);
    expect(committed.body.transaction.state).toBe("committed");
    expect(committed.body.results).toEqual([
      { id: "a", partition: 0, offset: 0, duplicate: false },
      { id: "b", partition: 0, offset: 1, duplicate: false },
    ]);
    expect((await drain(topic, sub)).map((m) => m.id)).toEqual(["a", "b"]);
    expect((await drain(topic, other)).map((m) => m.id)).toEqual(["a", "b"]);
    expect(await preparedRows(topic)).toBe(0);
  });

  it("answer a repeated commit the same, and refuse a rollback after it with 409 transaction_committed", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, { messages: [{ body: "x" }] });
    const first = await commit(topic, transaction.id);
    const again = await commit(topic, transaction.id);
    expect(again.status).toBe(200);
    expect(again.body.results).toEqual(first.body.results);
    const refused = await rollback(topic, transaction.id);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("transaction_committed");
    expect(await drain(topic, sub)).toHaveLength(1);
  });

  it("never deliver rolled-back messages; a repeated rollback answers the same, a commit after it 409 transaction_rolled_back", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, { messages: [{ id: "gone", body: 1 }] });
    const first = await rollback(topic, transaction.id);
    expect(first.status).toBe(200);
    expect(first.body.transaction).toMatchObject({ state: "rolled_back", reason: "client" });
    expect((await rollback(topic, transaction.id)).status).toBe(200);
    const refused = await commit(topic, transaction.id);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("transaction_rolled_back");
    expect(await drain(topic, sub)).toEqual([]);
    expect(await preparedRows(topic)).toBe(0);
  });

  it("show a transaction's state, and answer 404 transaction_not_found for an unknown id", async () => {
    const topic = await createTopic(2);
    const { transaction } = await prepare(topic, { messages: [{ body: 1 }], timeout_seconds: 30 });
    const shown = await get(topic, transaction.id);
    expect(shown.status).toBe(200);
    expect(shown.body.transaction).toMatchObject({ id: transaction.id, topic, state: "prepared", reason: null, checks: 0, check: null });
    expect(Date.parse(shown.body.transaction.expires_at) - Date.parse(shown.body.transaction.created_at)).toBe(30_000);
    const unknown = transaction.id.replace(/^.{10}/, "0000000000");
    for (const id of [unknown, "nonsense", `${transaction.id.slice(0, 26)}-p7`]) {
      for (const r of [await get(topic, id), await commit(topic, id), await rollback(topic, id)]) {
        expect(r.status, id).toBe(404);
        expect(r.body.error.code).toBe("transaction_not_found");
      }
    }
  });

  it("refuse bad input with 400 naming the field, and store nothing", async () => {
    const topic = await createTopic(2);
    const bad: [unknown, string][] = [
      [{ messages: [] }, "messages"],
      [{ messages: [{ body: 1 }], timeout_seconds: 0 }, "timeout_seconds"],
      [{ messages: [{ body: 1 }], timeout_seconds: 86_401 }, "timeout_seconds"],
      [{ messages: [{ body: 1 }], check: { url: "ftp://example.com/check" } }, "check.url"],
      [{ messages: [{ body: 1 }], check: { url: "https://169.254.169.254/latest" } }, "check.url"],
      [{ messages: [{ body: 1 }], check: { url: "https://example.com/", max_checks: 0 } }, "check.max_checks"],
      [{ messages: [{ body: 1 }], check: { url: "https://example.com/", interval_seconds: 0 } }, "check.interval_seconds"],
      [{ messages: [{ body: 1 }, { priority: 3 }] }, "messages[1].body"],
      [{ messages: [{ body: 1, priority: 10 }] }, "messages[0].priority"],
      [{ messages: [{ body: 1 }], extra: true }, "(body)"],
    ];
    for (const [body, path] of bad) {
      const r = await call("POST", `/v1/topics/${topic}/transactions`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(path);
    }
    expect(await preparedRows(topic)).toBe(0);
  });

  it("refuse a message over the size limit with 413, as produce does", async () => {
    const topic = await createTopic(1);
    const r = await call("POST", `/v1/topics/${topic}/transactions`, { messages: [{ body: "x".repeat(1024 * 1024 + 1) }] });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("message_too_large");
    expect(await preparedRows(topic)).toBe(0);
  });

  it("give committed messages their offsets at commit: gap-free, in commit order", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "p0", body: 0 }]);
    const a = await prepare(topic, { messages: [{ id: "a1", body: 1 }, { id: "a2", body: 2 }] });
    const b = await prepare(topic, { messages: [{ id: "b1", body: 3 }] });
    await produce(topic, [{ id: "p1", body: 4 }]);
    expect((await commit(topic, b.transaction.id)).body.results[0].offset).toBe(2);
    expect((await commit(topic, a.transaction.id)).body.results.map((r: { offset: number }) => r.offset)).toEqual([3, 4]);
    const got = await drain(topic, sub);
    expect(got.map((m) => [m.offset, m.id])).toEqual([[0, "p0"], [1, "p1"], [2, "b1"], [3, "a1"], [4, "a2"]]);
  });

  it("span partitions: a commit makes every partition's share deliverable", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const messages = Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, key: `k${i}`, body: i }));
    const { transaction, results } = await prepare(topic, { messages });
    expect(new Set(results.map((r) => r.partition)).size).toBeGreaterThan(1);
    expect(transactionHome(transaction.id)).toBe(results[0]!.partition);
    expect(await receive(topic, sub, { max_messages: 100 })).toEqual([]);
    const committed = await commit(topic, transaction.id);
    expect(committed.status).toBe(200);
    expect(committed.body.results.map((r: { id: string; partition: number }) => [r.id, r.partition])).toEqual(
      results.map((r) => [r.id, r.partition]),
    );
    const got = await drain(topic, sub);
    expect(got.map((m) => m.id).sort()).toEqual(messages.map((m) => m.id).sort());
    expect(await preparedRows(topic)).toBe(0);
  });

  it("deduplicate from prepare: a message whose id is already stored is marked duplicate and delivered once", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const [first] = await produce(topic, [{ id: "order-1", body: "first" }]);
    const one = await prepare(topic, { messages: [{ id: "order-1", body: "again" }, { id: "order-2", body: 2 }] });
    const two = await prepare(topic, { messages: [{ id: "order-2", body: "twice" }] });
    const a = await commit(topic, one.transaction.id);
    expect(a.body.results).toEqual([
      { id: "order-1", partition: 0, offset: first!.offset, duplicate: true },
      { id: "order-2", partition: 0, offset: 1, duplicate: false },
    ]);
    const b = await commit(topic, two.transaction.id);
    expect(b.body.results).toEqual([{ id: "order-2", partition: 0, offset: 1, duplicate: true }]);
    const got = await drain(topic, sub);
    expect(got.map((m) => [m.id, m.body])).toEqual([["order-1", "first"], ["order-2", 2]]);
  });

  it("deliver committed messages like any other: priority first, a delay counted from prepare", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, {
      messages: [
        { id: "low", body: 1, priority: 1 },
        { id: "high", body: 2, priority: 9 },
        { id: "later", body: 3, delay_seconds: 120 },
      ],
    });
    const advance = await controlTime(topic);
    await commit(topic, transaction.id);
    const first = await receive(topic, sub, { max_messages: 10 });
    expect(first.map((m) => m.id)).toEqual(["high", "low"]);
    await ack(topic, sub, first.map((m) => m.receipt));
    await advance(121_000);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id)).toEqual(["later"]);
  });

  it("roll back at the timeout when there is no check url (reason timeout)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, { messages: [{ body: 1 }], timeout_seconds: 5 });
    const advance = await controlTime(topic);
    await advance(4_000);
    expect((await get(topic, transaction.id)).body.transaction.state).toBe("prepared");
    await advance(2_000);
    expect((await get(topic, transaction.id)).body.transaction).toMatchObject({ state: "rolled_back", reason: "timeout" });
    expect((await commit(topic, transaction.id)).body.error.code).toBe("transaction_rolled_back");
    expect(await drain(topic, sub)).toEqual([]);
  });

  it("refuse more open transactions than a partition keeps with 429 too_many_transactions", async () => {
    const topic = await createTopic(1);
    const [stub] = await partitionStubs(topic);
    await runInDurableObject<Partition, void>(stub!, (instance) => {
      instance.maxOpenTransactions = 2;
    });
    const a = await prepare(topic, { messages: [{ body: 1 }] });
    await prepare(topic, { messages: [{ body: 2 }] });
    const refused = await call("POST", `/v1/topics/${topic}/transactions`, { messages: [{ body: 3 }] });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("too_many_transactions");
    expect(refused.headers.get("retry-after")).toBe("1");
    await commit(topic, a.transaction.id);
    expect((await call("POST", `/v1/topics/${topic}/transactions`, { messages: [{ body: 3 }] })).status).toBe(201);
  });

  it("need the produce scope of the topic", async () => {
    const topic = await createTopic(1);
    const key = async (scopes: string[]) => (await call("POST", "/v1/keys", { name: "k", scopes })).body.secret as string;
    const producer = await key([`produce:${topic}`]);
    const consumer = await key([`consume:${topic}`]);
    const prepared = await call("POST", `/v1/topics/${topic}/transactions`, { messages: [{ body: 1 }] }, { token: producer });
    expect(prepared.status).toBe(201);
    const id = prepared.body.transaction.id as string;
    expect((await call("GET", `/v1/topics/${topic}/transactions/${id}`, undefined, { token: consumer })).status).toBe(403);
    expect((await call("POST", `/v1/topics/${topic}/transactions/${id}/commit`, undefined, { token: consumer })).status).toBe(403);
    expect((await call("POST", `/v1/topics/${topic}/transactions/${id}/commit`, undefined, { token: producer })).status).toBe(200);
  });
});

describe("check-backs", () => {
  const check = { url: "https://shop.example.com/weir/check", max_checks: 3, interval_seconds: 10 };

  it("commit a transaction whose producer answers commit, and send the SPEC's body", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, { messages: [{ id: "c1", body: 1 }], timeout_seconds: 5, check });
    const calls = await answerChecks(topic, transaction.id, decision("commit"));
    const advance = await controlTime(topic);
    await advance(6_000);
    expect(calls).toEqual([
      { url: check.url, body: { topic, transaction_id: transaction.id, message_ids: ["c1"], check: 1 } },
    ]);
    expect((await get(topic, transaction.id)).body.transaction).toMatchObject({ state: "committed", checks: 1 });
    expect((await drain(topic, sub)).map((m) => m.id)).toEqual(["c1"]);
  });

  it("roll back a transaction whose producer answers rollback (reason client)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, { messages: [{ body: 1 }], timeout_seconds: 5, check });
    await answerChecks(topic, transaction.id, decision("rollback"));
    const advance = await controlTime(topic);
    await advance(6_000);
    expect((await get(topic, transaction.id)).body.transaction).toMatchObject({ state: "rolled_back", reason: "client" });
    expect(await drain(topic, sub)).toEqual([]);
  });

  it("ask again every interval while the answer is unknown, then roll back (reason unresolved)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { transaction } = await prepare(topic, { messages: [{ body: 1 }], timeout_seconds: 5, check });
    const calls = await answerChecks(topic, transaction.id, decision("unknown"));
    const advance = await controlTime(topic);
    await advance(6_000);
    expect(calls).toHaveLength(1);
    const shown = (await get(topic, transaction.id)).body.transaction;
    expect(shown).toMatchObject({ state: "prepared", checks: 1 });
    expect(Date.parse(shown.check.next_at)).toBeGreaterThan(Date.now() + 5_000);
    await advance(5_000);
    expect(calls).toHaveLength(1);
    await advance(6_000);
    expect(calls).toHaveLength(2);
    await advance(11_000);
    expect(calls.map((c) => (c.body as { check: number }).check)).toEqual([1, 2, 3]);
    expect((await get(topic, transaction.id)).body.transaction).toMatchObject({ state: "rolled_back", reason: "unresolved", checks: 3 });
    await advance(60_000);
    expect(calls).toHaveLength(3);
    expect(await drain(topic, sub)).toEqual([]);
  });

  it("count an error status, a body that is not a decision, a redirect and a failed call as unknown", async () => {
    const answers: Answer[] = [
      async () => new Response("oops", { status: 500 }),
      async () => new Response("commit", { status: 200 }),
      // A redirect, here to a cloud metadata address, is never followed.
      async () => new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data" } }),
      async () => {
        throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
      },
    ];
    for (const answer of answers) {
      const topic = await createTopic(1);
      const { transaction } = await prepare(topic, { messages: [{ body: 1 }], timeout_seconds: 5, check: { ...check, max_checks: 1 } });
      const calls = await answerChecks(topic, transaction.id, answer);
      const advance = await controlTime(topic);
      await advance(6_000);
      expect(calls).toHaveLength(1);
      expect((await get(topic, transaction.id)).body.transaction).toMatchObject({ state: "rolled_back", reason: "unresolved" });
    }
  });

  it("stop asking once the producer commits by itself", async () => {
    const topic = await createTopic(1);
    const { transaction } = await prepare(topic, { messages: [{ body: 1 }], timeout_seconds: 5, check });
    const calls = await answerChecks(topic, transaction.id, decision("unknown"));
    const advance = await controlTime(topic);
    await advance(6_000);
    await commit(topic, transaction.id);
    await advance(60_000);
    expect(calls).toHaveLength(1);
    expect((await get(topic, transaction.id)).body.transaction.state).toBe("committed");
  });
});
