import { describe, expect, it } from "vitest";
import { ack, controlTime, createSubscription, createTopic, produce, receive, settle } from "../helpers";

describe("leases", () => {
  it("hide a received message from other consumers until the lease ends, then redeliver it with attempt + 1", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 30 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: "x" }]);
    const [first] = await receive(topic, sub, { max_messages: 10 });
    expect(first).toMatchObject({ id: "m", attempt: 1 });
    expect(await receive(topic, sub, { max_messages: 10 })).toEqual([]);

    await advance(29_000);
    expect(await receive(topic, sub, { max_messages: 10 })).toEqual([]);
    await advance(2_000);
    const [second] = await receive(topic, sub, { max_messages: 10 });
    expect(second).toMatchObject({ id: "m", attempt: 2 });
    expect(second!.receipt).not.toBe(first!.receipt);
  });

  it("wake a waiting receive when a lease runs out (the partition's alarm)", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 5 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: "x" }]);
    await receive(topic, sub);
    const waiting = receive(topic, sub, { wait_seconds: 10 });
    await new Promise((r) => setTimeout(r, 100));
    const before = Date.now();
    await advance(6_000);
    const got = await waiting;
    expect(got.map((m) => [m.id, m.attempt])).toEqual([["m", 2]]);
    expect(Date.now() - before).toBeLessThan(1_000);
  });

  it("refuse an ack with a receipt from an earlier delivery, without acking the newer one", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 10 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: "x" }]);
    const [old] = await receive(topic, sub);
    await advance(11_000);
    const [fresh] = await receive(topic, sub);
    expect(fresh!.attempt).toBe(2);

    const refused = await ack(topic, sub, [old!.receipt]);
    expect(refused).toEqual([{ receipt: old!.receipt, ok: false, error: expect.objectContaining({ code: "receipt_stale" }) }]);
    // The newer delivery is still leased: nack it to prove it was not acked.
    const nacked = await settle("nack", topic, sub, { receipts: [fresh!.receipt] });
    expect(nacked[0]!.ok).toBe(true);
    const [third] = await receive(topic, sub);
    expect(third).toMatchObject({ id: "m", attempt: 3 });
  });

  it("ack idempotently", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    expect((await ack(topic, sub, [m!.receipt]))[0]!.ok).toBe(true);
    expect((await ack(topic, sub, [m!.receipt]))[0]!.ok).toBe(true);
    expect(await receive(topic, sub)).toEqual([]);
  });

  it("accept an ack after the lease ran out if nobody received the message since", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 10 });
    const advance = await controlTime(topic);
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    await advance(20_000);
    expect((await ack(topic, sub, [m!.receipt]))[0]!.ok).toBe(true);
    expect(await receive(topic, sub)).toEqual([]);
  });

  it("nack with a delay: invisible until the delay ends, then delivered again", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    const [m] = await receive(topic, sub);
    const nacked = await settle("nack", topic, sub, { receipts: [m!.receipt], delay_seconds: 60 });
    expect(nacked[0]!.ok).toBe(true);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(59_000);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(2_000);
    expect((await receive(topic, sub)).map((x) => [x.id, x.attempt])).toEqual([["m", 2]]);
  });

  it("nack without a delay: delivered again at once, to a waiting consumer too", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    const [m] = await receive(topic, sub);
    const waiting = receive(topic, sub, { wait_seconds: 10 });
    await new Promise((r) => setTimeout(r, 100));
    await settle("nack", topic, sub, { receipts: [m!.receipt] });
    expect((await waiting).map((x) => [x.id, x.attempt])).toEqual([["m", 2]]);
  });

  it("extend keeps a message invisible past its first lease", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { visibility_timeout_seconds: 10 });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    const [m] = await receive(topic, sub);
    await advance(8_000);
    const extended = await settle("extend", topic, sub, { receipts: [m!.receipt], visibility_timeout_seconds: 60 });
    expect(extended[0]!.ok).toBe(true);
    await advance(30_000);
    expect(await receive(topic, sub)).toEqual([]);
    expect((await ack(topic, sub, [m!.receipt]))[0]!.ok).toBe(true);
  });

  it("refuse to extend an acked message", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    await ack(topic, sub, [m!.receipt]);
    const r = await settle("extend", topic, sub, { receipts: [m!.receipt], visibility_timeout_seconds: 60 });
    expect(r[0]).toMatchObject({ ok: false, error: { code: "not_in_flight" } });
  });

  it("answer per receipt, keeping the request's order", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const other = await createSubscription(topic);
    await produce(topic, Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, body: i })));
    const got = await receive(topic, sub, { max_messages: 8 });
    const [fromOther] = await receive(topic, other);
    const receipts = ["garbage", got[0]!.receipt, fromOther!.receipt, got[1]!.receipt];
    const results = await ack(topic, sub, receipts);
    expect(results.map((r) => [r.receipt, r.ok, r.error?.code])).toEqual([
      ["garbage", false, "receipt_invalid"],
      [got[0]!.receipt, true, undefined],
      [fromOther!.receipt, false, "receipt_mismatch"],
      [got[1]!.receipt, true, undefined],
    ]);
  });
});
