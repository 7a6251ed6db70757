import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../src/shared/hash";
import { ack, call, createSubscription, createTopic, drain, produce, receive } from "../helpers";

describe("receive", () => {
  it("returns as soon as a message is produced while it waits", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const started = Date.now();
    const waiting = receive(topic, sub, { wait_seconds: 10, max_messages: 10 });
    await new Promise((r) => setTimeout(r, 300));
    const producedAt = Date.now();
    await produce(topic, [{ body: "wake up" }]);
    const got = await waiting;
    const latency = Date.now() - producedAt;
    expect(got.map((m) => m.body)).toEqual(["wake up"]);
    // Woken by the produce, not by the end of its 10 s wait: the speed itself is measured in
    // `npm run bench`, not here (a loaded machine must not fail this test).
    expect(latency).toBeLessThan(2_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("returns empty after wait_seconds when nothing comes", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const started = Date.now();
    const got = await receive(topic, sub, { wait_seconds: 1 });
    const waited = Date.now() - started;
    expect(got).toEqual([]);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(3_000);
  });

  it("returns at once without wait_seconds", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const started = Date.now();
    expect(await receive(topic, sub)).toEqual([]);
    // It did not wait (a wait is at least 1 s); not a speed goal.
    expect(Date.now() - started).toBeLessThan(950);
  });

  it("leases at most max_messages across partitions", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    await produce(topic, Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, body: i })));
    for (const max of [1, 3, 7]) {
      const got = await receive(topic, sub, { max_messages: max });
      expect(got.length).toBe(max);
    }
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    const counts = stats.body.subscriptions[0];
    expect(counts.in_flight).toBe(11);
    expect(counts.ready).toBe(29);
  });

  it("fills a batch from every partition that has messages", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    // All on one partition: the other three have none, so the top-up pass must find them.
    await produce(topic, Array.from({ length: 10 }, (_, i) => ({ key: "same", body: i })));
    const got = await receive(topic, sub, { max_messages: 10 });
    expect(got).toHaveLength(10);
  });

  it("drains a 4-partition topic exactly once when every message is acked", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const ids = Array.from({ length: 300 }, (_, i) => `m-${i}`);
    for (let i = 0; i < ids.length; i += 100) {
      await produce(topic, ids.slice(i, i + 100).map((id, j) => ({ id, key: j % 3 === 0 ? undefined : `k${j % 17}`, body: id })));
    }
    const consumers = await Promise.all(Array.from({ length: 4 }, () => drain(topic, sub, { batch: 25 })));
    const seen = consumers.flat().map((m) => m.id);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(consumers.flat().every((m) => m.attempt === 1)).toBe(true);
  });

  it("gives every subscription every message", async () => {
    const topic = await createTopic(3);
    const subs = await Promise.all([createSubscription(topic), createSubscription(topic), createSubscription(topic, { mode: "ordered" })]);
    await produce(topic, Array.from({ length: 30 }, (_, i) => ({ id: `m${i}`, body: i })));
    for (const sub of subs) {
      const got = await drain(topic, sub);
      expect(got.map((m) => m.id).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    }
  });

  it("starts a latest subscription after the messages before it, an earliest one at the start", async () => {
    const topic = await createTopic(2);
    await produce(topic, [{ id: "before", body: 0 }]);
    const latest = await createSubscription(topic, { start_position: "latest" });
    const earliest = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ id: "after", body: 1 }]);
    expect((await drain(topic, latest)).map((m) => m.id)).toEqual(["after"]);
    expect((await drain(topic, earliest)).map((m) => m.id).sort()).toEqual(["after", "before"]);
  });

  it("serves shared subscriptions highest priority first, then oldest first", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [
      { id: "low-1", body: 0, priority: 1 },
      { id: "high-1", body: 0, priority: 9 },
      { id: "none", body: 0 },
      { id: "high-2", body: 0, priority: 9 },
      { id: "low-2", body: 0, priority: 1 },
    ]);
    const got = await receive(topic, sub, { max_messages: 10 });
    expect(got.map((m) => m.id)).toEqual(["high-1", "high-2", "low-1", "low-2", "none"]);
    await ack(topic, sub, got.map((m) => m.receipt));
  });

  it("answers 404 for an unknown subscription", async () => {
    const topic = await createTopic(1);
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/nobody/receive`, {});
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("subscription_not_found");
  });
});

describe("waiting on the doorbell", () => {
  const receiveCalls = async (topic: string, sub: string, body: Record<string, unknown>) => {
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, body);
    expect(r.status).toBe(200);
    return {
      messages: r.body.messages as unknown[],
      partitions: Number(r.headers.get("weir-partition-calls")),
      doorbell: Number(r.headers.get("weir-doorbell-calls")),
    };
  };

  it("costs an idle consumer one doorbell call per wait and no partition call, however many partitions", async () => {
    const topic = await createTopic(8);
    const sub = await createSubscription(topic);
    // The first receive asks every partition; each one, found empty, arms itself.
    const first = await receiveCalls(topic, sub, { wait_seconds: 0 });
    expect(first.partitions).toBe(8);
    for (let i = 0; i < 2; i++) {
      const idle = await receiveCalls(topic, sub, { wait_seconds: 1 });
      expect(idle).toEqual({ messages: [], partitions: 0, doorbell: 1 });
    }
  });

  it("sends no call of its own to report a partition it left empty: the next receive's doorbell call carries it", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, Array.from({ length: 10 }, (_, n) => ({ body: n })));
    // A full answer that empties the partition: it arms, and the report waits for the next receive.
    const emptied = await receiveCalls(topic, sub, { max_messages: 10, wait_seconds: 0 });
    expect([emptied.messages.length, emptied.partitions, emptied.doorbell]).toEqual([10, 1, 0]);
    // The next one (which leases first: the last answer was full) hands the report to the doorbell with its wait.
    expect(await receiveCalls(topic, sub, { max_messages: 10, wait_seconds: 1 })).toEqual({ messages: [], partitions: 1, doorbell: 1 });
    expect(await receiveCalls(topic, sub, { max_messages: 10, wait_seconds: 1 })).toEqual({ messages: [], partitions: 0, doorbell: 1 });
  });

  it("leases first once a receive came back full (a backlog): one partition call a batch, no doorbell call", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    // 45: no receive below empties the partition (that one would also report it to the doorbell).
    await produce(topic, Array.from({ length: 45 }, (_, n) => ({ body: n })));
    const first = await receiveCalls(topic, sub, { max_messages: 10, wait_seconds: 5 });
    expect(first.messages).toHaveLength(10);
    expect(first.doorbell).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const next = await receiveCalls(topic, sub, { max_messages: 10, wait_seconds: 5 });
      expect(next).toEqual({ messages: expect.any(Array), partitions: 1, doorbell: 0 });
      expect(next.messages).toHaveLength(10);
    }
  });

  it("wakes a consumer waiting on 4 partitions whichever partition gets the message", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    await receive(topic, sub, { wait_seconds: 0 });
    const keys = [0, 1, 2, 3].map((p) => {
      for (let k = 0; ; k++) if (partitionForKey(`k${k}`, 4) === p) return `k${k}`;
    });
    for (const key of keys) {
      const waiting = receiveCalls(topic, sub, { wait_seconds: 10 });
      await new Promise((r) => setTimeout(r, 100));
      const producedAt = Date.now();
      await produce(topic, [{ body: key, key }]);
      const got = await waiting;
      expect(got.messages).toMatchObject([{ body: key }]);
      expect(Date.now() - producedAt, key).toBeLessThan(2_000);
      // Parked once on the doorbell: no call per partition.
      expect(got.doorbell).toBeLessThanOrEqual(2);
      expect(got.partitions).toBeLessThanOrEqual(3);
    }
  });

  it("wakes a waiting consumer when a lease ends and its message is due again", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ body: "again" }]);
    const [first] = await receive(topic, sub, { visibility_timeout_seconds: 1 });
    expect(first?.body).toBe("again");
    const started = Date.now();
    const again = await receive(topic, sub, { wait_seconds: 10 });
    expect(again).toMatchObject([{ body: "again", attempt: 2 }]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("gives the rest of a backlog spread over partitions to one receive", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, Array.from({ length: 40 }, (_, i) => ({ body: i, key: `k${i}` })));
    const got = await receiveCalls(topic, sub, { max_messages: 40 });
    expect(got.messages).toHaveLength(40);
    // One call to learn which partitions to ask, one (after answering) to report those emptied.
    expect(got.doorbell).toBeLessThanOrEqual(2);
    expect(got.partitions).toBeLessThanOrEqual(4 + 3);
  });
});

describe("acking with the next receive", () => {
  const receiveWithAck = async (topic: string, sub: string, body: Record<string, unknown>) => {
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { messages: { body: unknown; receipt: string }[]; acked?: { receipt: string; ok: boolean; error?: { code: string } }[] };
  };

  it("acks the receipts given before leasing, and answers their results in order", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [1, 2, 3, 4].map((n) => ({ body: n })));
    const first = await receiveWithAck(topic, sub, { max_messages: 2 });
    expect(first.acked).toBeUndefined();
    const receipts = first.messages.map((m) => m.receipt);
    const second = await receiveWithAck(topic, sub, { max_messages: 10, ack: [...receipts, "not-a-receipt"] });
    expect(second.acked).toEqual([
      { receipt: receipts[0], ok: true },
      { receipt: receipts[1], ok: true },
      { receipt: "not-a-receipt", ok: false, error: expect.objectContaining({ code: "receipt_invalid" }) },
    ]);
    expect(second.messages).toHaveLength(2);
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(2);
    expect(stats.body.subscriptions[0].ready).toBe(0);
  });

  it("in an ordered subscription, hands over the next message of the key it acks in the same call", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [
      { key: "k", body: 1 },
      { key: "k", body: 2 },
    ]);
    const [first] = (await receiveWithAck(topic, sub, { max_messages: 10 })).messages;
    expect(first?.body).toBe(1);
    const next = await receiveWithAck(topic, sub, { max_messages: 10, ack: [first!.receipt] });
    expect(next.messages.map((m) => m.body)).toEqual([2]);
  });

  it("answers a partial batch of a one-partition topic after its lease, without a doorbell call", async () => {
    // The lease asked every partition there is and heard of nothing more: no top-up can find any.
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    const receiveCounted = async (wait_seconds: number) => {
      const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, { max_messages: 10, wait_seconds });
      expect(r.status).toBe(200);
      return {
        bodies: (r.body.messages as { body: number }[]).map((m) => m.body),
        calls: [Number(r.headers.get("weir-partition-calls")), Number(r.headers.get("weir-doorbell-calls"))],
      };
    };
    await produce(topic, [{ body: 1 }, { body: 2 }, { body: 3 }]);
    // A receive that may not wait leases first: one call in all (two before: a top-up at the doorbell).
    expect(await receiveCounted(0)).toEqual({ bodies: [1, 2, 3], calls: [1, 0] });
    await produce(topic, [{ body: 4 }]);
    // One that may wait asks the doorbell first, then leases: two calls in all (three before).
    expect(await receiveCounted(5)).toEqual({ bodies: [4], calls: [1, 1] });
  });

  it("carries acks of one partition on its first lease there: one partition call for both, waiting or not", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    // 40: no receive here empties the partition (that one would also report it to the doorbell).
    await produce(topic, Array.from({ length: 40 }, (_, n) => ({ body: n })));
    let ack: string[] = [];
    for (const wait_seconds of [0, 5, 0]) {
      const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, { max_messages: 10, wait_seconds, ...(ack.length ? { ack } : {}) });
      expect(r.status).toBe(200);
      expect(r.body.messages).toHaveLength(10);
      if (ack.length) expect((r.body.acked as { ok: boolean }[]).every((a) => a.ok)).toBe(true);
      expect([wait_seconds, Number(r.headers.get("weir-partition-calls")), Number(r.headers.get("weir-doorbell-calls"))]).toEqual([wait_seconds, 1, 0]);
      ack = (r.body.messages as { receipt: string }[]).map((m) => m.receipt);
    }
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(10);
  });

  it("applies carried acks even when nothing is left to lease, and waits after them", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ key: "a", body: 1 }]);
    const first = await receive(topic, sub);
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, { max_messages: 10, wait_seconds: 1, ack: first.map((m) => m.receipt) });
    expect(r.status).toBe(200);
    expect(r.body.messages).toEqual([]);
    expect(r.body.acked).toEqual([{ receipt: first[0]!.receipt, ok: true }]);
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(0);
  });

  it("refuses an ack field that is not a list of receipts, naming it, and acks nothing", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    for (const ack of ["x", [1], [""], Array.from({ length: 1001 }, () => m!.receipt)]) {
      const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, { ack });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body.error)).toContain("ack");
    }
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(1);
  });
});
