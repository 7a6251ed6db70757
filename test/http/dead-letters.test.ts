import { describe, expect, it } from "vitest";
import {
  ack,
  call,
  catalogUids,
  controlTime,
  createSubscription,
  createTopic,
  deadLetters,
  drain,
  partitionStubs,
  produce,
  receive,
  settle,
} from "../helpers";

describe("dead letters", () => {
  it("take a message whose leases ran out max_deliveries times, with headers naming where it came from", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 2, visibility_timeout_seconds: 10 });
    const advance = await controlTime(topic);
    const [produced] = await produce(topic, [{ id: "m", key: "k", headers: { trace: "abc" }, body: { n: 1 } }]);
    expect((await receive(topic, sub))[0]!.attempt).toBe(1);
    await advance(11_000);
    expect((await receive(topic, sub))[0]!.attempt).toBe(2);
    await advance(11_000);
    expect(await receive(topic, sub)).toEqual([]);

    const [letter] = await deadLetters(topic, 1);
    expect(letter).toMatchObject({ id: "m", key: "k", body: { n: 1 } });
    expect(letter!.headers).toMatchObject({
      trace: "abc",
      "weir-dead-letter-reason": "max_deliveries",
      "weir-source-topic": topic,
      "weir-source-subscription": sub,
      "weir-source-partition": "0",
      "weir-source-offset": String(produced!.offset),
      "weir-attempts": "2",
    });
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0]).toMatchObject({ ready: 0, in_flight: 0, delayed: 0, dead_letters_pending: 0 });
  });

  it("take a message nacked max_deliveries times, with the last nack reason", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { max_deliveries: 2 });
    await produce(topic, [{ id: "m", body: 1 }]);
    const [first] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [first!.receipt], reason: "timeout calling billing" });
    const [second] = await receive(topic, sub);
    expect(second!.attempt).toBe(2);
    await settle("nack", topic, sub, { receipts: [second!.receipt], reason: "still failing" });
    expect(await receive(topic, sub)).toEqual([]);
    const [letter] = await deadLetters(topic, 1);
    expect(letter!.headers).toMatchObject({
      "weir-dead-letter-reason": "max_deliveries",
      "weir-attempts": "2",
      "weir-nack-reason": "still failing",
    });
  });

  it("take a rejected message at once", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 10 });
    await produce(topic, [{ id: "poison", body: "not parseable" }]);
    const [m] = await receive(topic, sub);
    const r = await settle("nack", topic, sub, { receipts: [m!.receipt], dead_letter: true, reason: "schema mismatch" });
    expect(r[0]!.ok).toBe(true);
    expect(await receive(topic, sub)).toEqual([]);
    const [letter] = await deadLetters(topic, 1);
    expect(letter).toMatchObject({ id: "poison", body: "not parseable" });
    expect(letter!.headers).toMatchObject({
      "weir-dead-letter-reason": "rejected",
      "weir-attempts": "1",
      "weir-nack-reason": "schema mismatch",
    });
  });

  it("take messages past their TTL when the topic says dead_letter, and drop them when it says drop", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { message_ttl_seconds: 60, expired_action: "dead_letter" });
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "stale", body: 1 }, { id: "short", body: 2, ttl_seconds: 5 }, { id: "fresh", body: 3, ttl_seconds: 3600 }]);
    await advance(6_000);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id).sort()).toEqual(["fresh", "stale"]);
    const letters = await deadLetters(topic, 1);
    expect(letters.map((m) => [m.id, m.headers["weir-dead-letter-reason"], m.headers["weir-attempts"]])).toEqual([
      ["short", "expired", "0"],
    ]);

    const dropping = await createTopic(1);
    await call("PUT", `/v1/topics/${dropping}`, { message_ttl_seconds: 60 });
    const dsub = await createSubscription(dropping);
    const advanceDropping = await controlTime(dropping);
    await produce(dropping, [{ id: "gone", body: 1 }]);
    await advanceDropping(61_000);
    expect(await receive(dropping, dsub)).toEqual([]);
    expect(await deadLetters(dropping, 1, 1_500)).toEqual([]);
  });

  it("take the oldest messages when a drop_oldest topic overflows", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { max_messages: 3, overflow: "drop_oldest" });
    const sub = await createSubscription(topic);
    await produce(topic, [1, 2, 3, 4, 5].map((n) => ({ id: `m${n}`, body: n })));
    expect((await drain(topic, sub)).map((m) => m.id)).toEqual(["m3", "m4", "m5"]);
    const letters = await deadLetters(topic, 2);
    expect(letters.map((m) => [m.id, m.headers["weir-dead-letter-reason"]])).toEqual([
      ["m1", "overflow"],
      ["m2", "overflow"],
    ]);
  });

  it("go to the subscription's own dead-letter topic when it names one", async () => {
    const topic = await createTopic(1);
    const target = await createTopic(1);
    const sub = await createSubscription(topic, { dead_letter_topic: target });
    const inspector = await createSubscription(target, { start_position: "earliest" });
    await produce(topic, [{ id: "m", body: 1 }]);
    const [m] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [m!.receipt], dead_letter: true });
    const got = await receive(target, inspector, { wait_seconds: 2 });
    expect(got.map((x) => x.id)).toEqual(["m"]);
    const read = await call("GET", `/v1/topics/${topic}/subscriptions/${sub}`);
    expect(read.body.dead_letter_topic).toBe(target);
  });

  it("take a message again when it fails again after a seek", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 1 });
    await produce(topic, [{ id: "m", body: 1 }]);
    for (let round = 0; round < 2; round++) {
      const [m] = await receive(topic, sub);
      await settle("nack", topic, sub, { receipts: [m!.receipt], dead_letter: true });
      await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/seek`, { to: "earliest" });
    }
    const letters = await deadLetters(topic, 2);
    expect(letters.map((m) => m.id)).toEqual(["m", "m"]);
  });

  it("refuse a topic as its own dead-letter topic", async () => {
    const topic = await createTopic(1);
    const r = await call("PUT", `/v1/topics/${topic}/subscriptions/s`, { dead_letter_topic: topic });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("dead_letter_topic");
  });
});

describe("retry back-off", () => {
  it("waits initial × 2^(attempt-1) between attempts, capped", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, {
      max_deliveries: 10,
      visibility_timeout_seconds: 5,
      retry_backoff: { kind: "exponential", initial_seconds: 10, max_seconds: 30, jitter: 0 },
    });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    // attempt 1 fails by nack: wait 10 s
    await settle("nack", topic, sub, { receipts: [(await receive(topic, sub))[0]!.receipt] });
    await advance(9_000);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(2_000);
    const second = await receive(topic, sub);
    expect(second.map((m) => m.attempt)).toEqual([2]);
    // attempt 2 fails by lease expiry: wait 20 s after the lease ends
    await advance(6_000);
    await advance(18_000);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(3_000);
    const third = await receive(topic, sub);
    expect(third.map((m) => m.attempt)).toEqual([3]);
    // attempt 3: 40 s, capped at 30 s
    await settle("nack", topic, sub, { receipts: [third[0]!.receipt] });
    await advance(29_000);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(2_000);
    expect((await receive(topic, sub)).map((m) => m.attempt)).toEqual([4]);
  });

  it("waits the same with fixed back-off, and a nack's own delay wins", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, {
      retry_backoff: { kind: "fixed", initial_seconds: 15, max_seconds: 60, jitter: 0 },
    });
    const advance = await controlTime(topic);
    await produce(topic, [{ id: "m", body: 1 }]);
    await settle("nack", topic, sub, { receipts: [(await receive(topic, sub))[0]!.receipt] });
    await advance(14_000);
    expect(await receive(topic, sub)).toEqual([]);
    await advance(2_000);
    const [again] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [again!.receipt], delay_seconds: 0 });
    expect((await receive(topic, sub)).map((m) => m.attempt)).toEqual([3]);
  });
});

describe("redrive", () => {
  it("brings dead letters back to the subscription only, and a second redrive moves nothing twice", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { max_deliveries: 1 });
    const other = await createSubscription(topic);
    await produce(topic, [1, 2, 3].map((n) => ({ id: `m${n}`, key: `k${n}`, body: n })));
    expect((await drain(topic, other)).length).toBe(3);
    const got = await receive(topic, sub, { max_messages: 10 });
    for (const m of got) await settle("nack", topic, sub, { receipts: [m.receipt], dead_letter: true });
    expect((await deadLetters(topic, 3)).length).toBe(3);

    const first = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, {});
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ moved: 3, missing: 0, more: false });
    const again = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, {});
    expect(again.body).toEqual({ moved: 0, missing: 0, more: false });

    const back = await drain(topic, sub);
    expect(back.map((m) => [m.id, m.attempt]).sort()).toEqual([["m1", 1], ["m2", 1], ["m3", 1]]);
    expect(await drain(topic, other)).toEqual([]);
  });

  it("moves at most max, and only the reason asked for", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 1 });
    await produce(topic, [1, 2, 3, 4].map((n) => ({ id: `m${n}`, body: n })));
    const got = await receive(topic, sub, { max_messages: 10 });
    await settle("nack", topic, sub, { receipts: got.slice(0, 3).map((m) => m.receipt), dead_letter: true });
    await settle("nack", topic, sub, { receipts: [got[3]!.receipt] }); // last attempt: max_deliveries
    await deadLetters(topic, 4);

    const some = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, { max: 2, reason: "rejected" });
    expect(some.body).toEqual({ moved: 2, missing: 0, more: true });
    const byReason = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, { reason: "max_deliveries" });
    expect(byReason.body).toEqual({ moved: 1, missing: 0, more: false });
    expect((await drain(topic, sub)).map((m) => m.id).sort()).toEqual(["m1", "m2", "m4"]);
  });

  it("is safe to repeat after it failed between restoring and marking", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { max_deliveries: 1 });
    await produce(topic, [{ id: "m", body: 1 }]);
    const [m] = await receive(topic, sub);
    await settle("nack", topic, sub, { receipts: [m!.receipt], dead_letter: true });
    await deadLetters(topic, 1);
    // Do the first half of a redrive by hand: restore at the source, but never mark it moved.
    const [dlq] = await partitionStubs(`${topic}.dlq`);
    const [source] = await partitionStubs(topic);
    const { topicUid, subscriptionUid } = await catalogUids(topic, sub);
    const { items } = await dlq!.deadLettersPage({ sourceTopicUid: topicUid, subscriptionUid, reason: null, max: 10, after: -1 });
    expect(items).toHaveLength(1);
    await source!.redeliverDeadLetters({ uid: subscriptionUid, mode: "shared", sinceMs: 0 }, items);

    const redo = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, {});
    expect(redo.body).toEqual({ moved: 1, missing: 0, more: false });
    const delivered = await drain(topic, sub);
    expect(delivered.map((x) => x.id)).toEqual(["m"]);
  });
});

describe("backlog limits", () => {
  it("answer 429 topic_full with Retry-After under overflow: reject, and store nothing", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { max_messages: 3 });
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: 1 }, { body: 2 }]);
    const full = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body: 3 }, { body: 4 }] });
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe("topic_full");
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThan(0);
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.partitions[0].next_offset).toBe(2);
    // Once consumers catch up there is room again.
    await drain(topic, sub);
    expect((await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body: 3 }, { body: 4 }] })).status).toBe(200);
  });

  it("count bytes too", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { max_bytes: 1000 });
    await createSubscription(topic);
    await produce(topic, [{ id: "a", body: "x".repeat(600) }]);
    const full = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ id: "b", body: "x".repeat(600) }] });
    expect(full.status).toBe(429);
    expect(full.body.error.message).toContain("bytes");
  });
});

describe("retention", () => {
  it("deletes acked messages once the retention ends, and storage shrinks", async () => {
    const topic = await createTopic(1);
    await call("PUT", `/v1/topics/${topic}`, { retention_seconds: 60, dedup_window_seconds: 60 });
    const sub = await createSubscription(topic);
    const advance = await controlTime(topic);
    await produce(topic, Array.from({ length: 20 }, (_, i) => ({ body: "x".repeat(1000), key: `k${i}` })));
    const unacked = await produce(topic, [{ id: "keep", body: "still needed" }]);
    const acked = (await drain(topic, sub, { ack: false })).filter((m) => m.id !== "keep");
    await ack(topic, sub, acked.map((m) => m.receipt));
    const before = await call("GET", `/v1/topics/${topic}/stats`);
    expect(before.body.partitions[0].messages).toBe(21);
    await advance(61_000);
    const after = await call("GET", `/v1/topics/${topic}/stats`);
    expect(after.body.partitions[0].messages).toBe(1);
    expect(after.body.partitions[0].bytes).toBeLessThan(before.body.partitions[0].bytes / 10);
    expect(after.body.partitions[0].first_offset).toBe(unacked[0]!.offset);
  });
});
