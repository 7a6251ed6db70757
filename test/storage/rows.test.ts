// The partition counts the rows its SQL writes and reads (docs/storage.md, "Measuring"), and
// GET …/stats shows them. These tests measure the phases of a message's life the way the bench
// does, with the clock moved for retention.
import { describe, expect, it } from "vitest";
import { ack, call, controlTime, createSubscription, createTopic, produce, receive, settle } from "../helpers";

async function rows(topic: string): Promise<{ written: number; read: number }> {
  const r = await call("GET", `/v1/topics/${topic}/stats`);
  if (r.status !== 200) throw new Error(`stats: ${r.status}`);
  const parts = r.body.partitions as { rows_written: number | null; rows_read: number | null }[];
  return {
    written: parts.reduce((n, p) => n + (p.rows_written ?? 0), 0),
    read: parts.reduce((n, p) => n + (p.rows_read ?? 0), 0),
  };
}

/** Produce, lease, ack and retention of `total` messages in batches of 100; rows per message per phase. */
export async function measurePhases(total: number, subscriptions = 1) {
  const topic = await createTopic(1);
  await call("PUT", `/v1/topics/${topic}`, { retention_seconds: 60, dedup_window_seconds: 60 });
  const subs: string[] = [];
  for (let i = 0; i < subscriptions; i++) subs.push(await createSubscription(topic));
  const advance = await controlTime(topic);
  const perMessage = (a: { written: number; read: number }, b: { written: number; read: number }) => ({
    written: (b.written - a.written) / total,
    read: (b.read - a.read) / total,
  });
  const start = await rows(topic);
  for (let i = 0; i < total; i += 100) {
    await produce(topic, Array.from({ length: 100 }, (_, j) => ({ id: `m-${i + j}`, body: "x".repeat(180) })));
  }
  const produced = await rows(topic);
  const leasedBatches: string[][][] = subs.map(() => []);
  for (const [k, sub] of subs.entries()) {
    for (;;) {
      const got = await receive(topic, sub, { max_messages: 100 });
      if (got.length === 0) break;
      leasedBatches[k]!.push(got.map((m) => m.receipt));
    }
  }
  const leased = await rows(topic);
  for (const [k, sub] of subs.entries()) for (const receipts of leasedBatches[k]!) await ack(topic, sub, receipts);
  const acked = await rows(topic);
  await advance(61_000);
  const retained = await rows(topic);
  return {
    produce: perMessage(start, produced),
    lease: perMessage(produced, leased),
    ack: perMessage(leased, acked),
    retention: perMessage(acked, retained),
    endToEnd: perMessage(start, retained),
    leasedCount: leasedBatches.flat(2).length,
    messagesLeft: (await call("GET", `/v1/topics/${topic}/stats`)).body.partitions[0].messages as number,
  };
}

describe("rows written and read, counted from the SQL cursors", () => {
  it("counts every phase of a message's life and shows it in stats", async () => {
    const phases = await measurePhases(1000);
    console.log(`rows per message, 1 shared subscription: ${JSON.stringify(phases)}`);
    expect(phases.leasedCount).toBe(1000);
    expect(phases.messagesLeft).toBe(0);
    for (const phase of [phases.produce, phases.lease, phases.ack, phases.retention]) {
      expect(phase.written).toBeGreaterThan(0);
    }
    expect(phases.endToEnd.written).toBeCloseTo(
      phases.produce.written + phases.lease.written + phases.ack.written + phases.retention.written,
      6,
    );
  });
});

describe("queries for rows a message does not have", () => {
  it("an ack of messages without rows of their own reads none (a shared subscription, no delays or retries)", async () => {
    // The ack used to look up each acked offset in `deliveries` (a row read per message); the
    // partition now knows the highest offset any row of the subscription has (Exceptions' ceiling).
    const phases = await measurePhases(500);
    expect(phases.leasedCount).toBe(500);
    expect(phases.messagesLeft).toBe(0);
    expect(phases.ack.read).toBeLessThan(0.1);
  });

  it("finds a row written after the ceiling was read: a nacked message is delivered, acked and done", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: 0 }, { body: 1 }, { body: 2 }, { body: 3 }]);
    const first = await receive(topic, sub, { max_messages: 4 });
    expect(first.map((m) => m.offset)).toEqual([0, 1, 2, 3]);
    // A nack gives offset 1 a row of its own, above the ceiling read when the subscription started.
    expect((await settle("nack", topic, sub, { receipts: [first[1]!.receipt] }))[0]!.ok).toBe(true);
    // Acks above that row (no query: nothing of theirs has a row) and below it (a query).
    expect((await ack(topic, sub, [first[2]!.receipt, first[3]!.receipt])).map((r) => r.ok)).toEqual([true, true]);
    expect((await ack(topic, sub, [first[0]!.receipt])).map((r) => r.ok)).toEqual([true]);
    // The nacked message comes back from its row, and its ack finds the row.
    const again = await receive(topic, sub, { max_messages: 4 });
    expect(again.map((m) => [m.offset, m.attempt])).toEqual([[1, 2]]);
    expect((await ack(topic, sub, [again[0]!.receipt]))[0]!.ok).toBe(true);
    expect(await receive(topic, sub, { max_messages: 4 })).toEqual([]);
  });
});

describe("GET …/stats/rows", () => {
  it("answers the counters without running SQL: two readings in a row agree", async () => {
    const topic = await createTopic(2);
    await createSubscription(topic);
    await produce(topic, [{ body: 1 }, { body: 2 }, { key: "k", body: 3 }]);
    const first = await call("GET", `/v1/topics/${topic}/stats/rows`);
    const second = await call("GET", `/v1/topics/${topic}/stats/rows`);
    expect(first.status).toBe(200);
    expect(first.body.partitions).toHaveLength(2);
    expect(second.body).toEqual(first.body);
    expect(first.body.partitions.reduce((n: number, p: { rows_written: number }) => n + p.rows_written, 0)).toBeGreaterThan(0);
  });
});
