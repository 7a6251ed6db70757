import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog";
import type { Partition } from "../../src/partition/partition";
import { StreamSeats } from "../../src/routing/seats";
import { doorbellName } from "../../src/shared/object-names";
import { call, catalogUids, createSubscription, createTopic, openStream, partitionStubs, produce, receive, type StreamLine } from "../helpers";

// A stream waits on a seat at each partition (src/partition/seats.ts): the partition leases for
// it the moment it has messages and answers the seat with them.

const bodies = (lines: StreamLine[]) => lines.flatMap((l) => l.messages ?? []).map((m) => m.body);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function doorbellOf(topic: string, sub: string) {
  const catalog = new Catalog(env.CATALOG);
  const [t, s] = await Promise.all([catalog.getTopic(topic), catalog.getSubscription(topic, sub)]);
  return env.DOORBELL.get(env.DOORBELL.idFromName(doorbellName(t!.uid, s!.uid, s!.surgeStartedAt)));
}

describe("stream seats", () => {
  it("8 streams on 4 partitions: each message reaches one stream, every stream gets its turn, no doorbell call", async () => {
    const topic = await createTopic(4);
    const sub = await createSubscription(topic);
    const streams = await Promise.all(Array.from({ length: 8 }, () => openStream(topic, sub, { max_messages: 1000, wait_seconds: 4 })));
    const reading = Promise.all(streams.map((stream) => stream.rest()));
    await sleep(300);
    // One at a time: each partition has 8 streams seated, the longest waiting answered first.
    const produced: number[] = [];
    for (let i = 0; i < 48; i++) produced.push((await produce(topic, [{ body: i }]))[0]!.partition);
    const lines = await reading;
    const got = lines.map((own) => own.flatMap((l) => l.messages ?? []));
    expect(got.flat().map((m) => m.body as number).sort((a, b) => a - b)).toEqual(produced.map((_, i) => i));
    for (const own of lines) expect(own.at(-1)).toMatchObject({ end: "wait_seconds", doorbell_calls: 0 });
    // A partition that got 8 messages or more gave one to each of the 8 streams: none starves.
    for (let p = 0; p < 4; p++) {
      if (produced.filter((q) => q === p).length < 8) continue;
      for (const own of got) expect(own.some((m) => m.partition === p)).toBe(true);
    }
  });

  it("leaves what its seat does not take to a long poll waiting at the doorbell", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const polling = receive(topic, sub, { wait_seconds: 10, max_messages: 10 });
    const bell = await doorbellOf(topic, sub);
    await expect.poll(() => bell.waiting(), { timeout: 10_000 }).toBe(1);
    const stream = await openStream(topic, sub, { max_messages: 4, wait_seconds: 10 });
    await sleep(300);
    await produce(topic, Array.from({ length: 6 }, (_, i) => ({ body: i })));
    const lines = await stream.rest();
    expect(bodies(lines)).toEqual([0, 1, 2, 3]);
    expect(lines.at(-1)).toMatchObject({ end: "max_messages", doorbell_calls: 0 });
    expect((await polling).map((m) => m.body)).toEqual([4, 5]);
  });

  it("gets a nacked message and a delayed one the moment they are deliverable", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { max_messages: 1000, wait_seconds: 10 });
    await produce(topic, [{ body: "later", delay_seconds: 1 }]);
    await produce(topic, [{ body: "now" }]);
    const first = (await stream.next())!.messages!;
    expect(first.map((m) => m.body)).toEqual(["now"]);
    const nacked = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/nack`, { receipts: [first[0]!.receipt], delay_seconds: 0 });
    expect(nacked.status).toBe(200);
    const again = (await stream.next())!.messages!;
    expect(again.map((m) => [m.body, m.attempt])).toEqual([["now", 2]]);
    const started = Date.now();
    expect(bodies([(await stream.next())!])).toEqual(["later"]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("takes its seat again without a lease when nothing became deliverable since its last answer", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { max_messages: 1000, wait_seconds: 3 });
    await sleep(300);
    for (let i = 0; i < 5; i++) {
      await produce(topic, [{ body: i }]);
      expect(bodies([(await stream.next())!])).toEqual([i]);
    }
    await stream.rest();
    const metrics = (await call("GET", "/metrics")).body as string;
    const line = metrics.split("\n").find((l) => l.startsWith("weir_empty_leases_total{") && l.includes(`topic="${topic}"`) && l.includes(`subscription="${sub}"`));
    // The first seat found the partition empty; each later one came with the partition's quiet mark.
    expect(Number(line?.split(" ").at(-1) ?? 0)).toBe(1);
  });

  it("with a filter, takes only what matches and leaves the rest deliverable", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const stream = await openStream(topic, sub, { max_messages: 1000, wait_seconds: 10, filter: { headers: { v: "2" } } });
    await sleep(300);
    await produce(topic, [{ body: "v1", headers: { v: "1" } }]);
    await produce(topic, [{ body: "v2", headers: { v: "2" } }]);
    expect(bodies([(await stream.next())!])).toEqual(["v2"]);
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.body)).toEqual(["v1"]);
    await stream.cancel();
  });
});

describe("stream seats on objects that cannot seat", () => {
  it("give up once every seat failed, so that the stream goes the doorbell's way (a rollout: partitions on the code before seats)", async () => {
    // Real objects without leaseOrSeat: the runtime refuses the call, as a partition of the previous deploy would.
    const handles = [0, 1].map((index) => ({
      index,
      stub: env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`no-seats-${index}-${Date.now()}`)) as unknown as DurableObjectStub<Partition>,
    }));
    const calls = { partitions: 0, doorbell: 0 };
    const seats = new StreamSeats({ visibilityMs: 30_000, filter: null }, calls);
    const spec = { uid: "sub", mode: "shared" as const, sinceMs: 0 };
    const started = Date.now();
    const answer = await seats.next(handles, spec, 100, Date.now() + 5_000, Date.now() + 5_000, new AbortController().signal);
    expect(answer).toBeNull();
    // Each partition is tried twice, a second apart (a restart of the objects fails each call once).
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(calls.partitions).toBe(4);
    expect(await seats.leave(spec.uid)).toEqual([]);
  });
});

describe("a seat that waited its longest", () => {
  it("is taken again at once, so that a message after it still reaches the stream", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const { subscriptionUid } = await catalogUids(topic, sub);
    const [stub] = await partitionStubs(topic);
    const calls = { partitions: 0, doorbell: 0 };
    const seats = new StreamSeats({ visibilityMs: 30_000, filter: null, seatMaxMs: 300 }, calls);
    const spec = { uid: subscriptionUid, mode: "shared" as const, sinceMs: 0 };
    const started = Date.now();
    const producing = sleep(1_000).then(() => produce(topic, [{ body: "late" }]));
    const got = await seats.next([{ index: 0, stub: stub! }], spec, 100, started + 5_000, started + 5_000, new AbortController().signal);
    await producing;
    expect(got?.map((d) => JSON.parse(d.message.body) as unknown)).toEqual(["late"]);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Seated three or four times: the first seat and those after each 300 ms wait.
    expect(calls.partitions).toBeGreaterThanOrEqual(3);
  });
});

describe("leases made for seats with different visibility timeouts", () => {
  it("end on time: the alarm is set for the shortest, not the longest", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    // An alarm already set 20 s ahead, between the two leases' ends.
    await produce(topic, [{ body: "later", delay_seconds: 20 }]);
    const short = await openStream(topic, sub, { max_messages: 1, wait_seconds: 10, visibility_timeout_seconds: 1 });
    await sleep(300);
    const long = await openStream(topic, sub, { max_messages: 1, wait_seconds: 10, visibility_timeout_seconds: 30 });
    await sleep(300);
    // One append: both seats lease in one turn, the 1 s one first (it waited longest).
    await produce(topic, [{ body: "a" }, { body: "b" }]);
    const [shortLines, longLines] = await Promise.all([short.rest(), long.rest()]);
    const unacked = bodies(shortLines);
    expect(unacked).toHaveLength(1);
    expect(bodies(longLines)).toHaveLength(1);
    // The 1 s lease ran out unacked: its message is deliverable again within seconds, not at 20 s.
    const started = Date.now();
    const again = await receive(topic, sub, { wait_seconds: 8 });
    expect(again.map((m) => [m.body, m.attempt])).toEqual([[unacked[0], 2]]);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 20_000);
});
