import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EMPTY_BELIEF_MS, type Doorbell } from "../../src/doorbell/doorbell";
import { ShiftedClock } from "../clock";
import { uniqueName } from "../helpers";

const doorbell = () => env.DOORBELL.get(env.DOORBELL.idFromName(uniqueName("bell")));
const ALL = [0, 1, 2, 3];
const empty = (...indices: number[]) => indices.map((index) => ({ index, seq: 1 }));

describe("doorbell", () => {
  it("answers at once every partition it knows nothing of", async () => {
    expect(await doorbell().wait(ALL, [], 5_000)).toEqual(ALL);
  });

  it("answers the partitions not reported empty, at once", async () => {
    expect(await doorbell().wait(ALL, empty(0, 2), 5_000)).toEqual([1, 3]);
  });

  it("waits while every partition is reported empty, and answers the one that rings", async () => {
    const bell = doorbell();
    const waiting = bell.wait(ALL, empty(...ALL), 5_000);
    await expect.poll(() => bell.waiting()).toBe(1);
    await bell.ring(2, 1);
    expect(await waiting).toEqual([2]);
    // Partition 2 rang: it may have messages, until it reports empty again.
    expect(await bell.wait(ALL, [], 0)).toEqual([2]);
    expect(await bell.wait(ALL, [{ index: 2, seq: 2 }], 0)).toEqual([]);
  });

  it("answers nothing when the wait ends without a ring", async () => {
    const started = Date.now();
    expect(await doorbell().wait(ALL, empty(...ALL), 300)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("wakes only waits that name the partition that rang", async () => {
    const bell = doorbell();
    const onOthers = bell.wait([0, 1], empty(0, 1), 300);
    await bell.ring(3, 1);
    expect(await onOthers).toEqual([]);
  });

  it("ignores an empty report older than a ring: the partition rang after it was armed", async () => {
    const bell = doorbell();
    await bell.ring(1, 5);
    expect(await bell.wait([1], [{ index: 1, seq: 5 }], 0)).toEqual([1]);
    expect(await bell.wait([1], [{ index: 1, seq: 4 }], 0)).toEqual([1]);
    expect(await bell.wait([1], [{ index: 1, seq: 6 }], 0)).toEqual([]);
  });

  it("takes a late ring of an earlier arm as a reason to ask the partition", async () => {
    const bell = doorbell();
    await bell.wait([1], [{ index: 1, seq: 7 }], 0);
    await bell.ring(1, 6); // a late ring of an earlier arm still makes the partition worth asking
    expect(await bell.wait([1], [{ index: 1, seq: 6 }], 0)).toEqual([1]);
  });

  it("stops believing a partition empty after EMPTY_BELIEF_MS, in case a ring was lost", async () => {
    const bell = doorbell();
    const clock = new ShiftedClock();
    await runInDurableObject<Doorbell, void>(bell, (instance) => {
      instance.clock = clock;
    });
    expect(await bell.wait(ALL, empty(...ALL), 0)).toEqual([]);
    clock.advance(EMPTY_BELIEF_MS - 1_000);
    expect(await bell.wait(ALL, [], 0)).toEqual([]);
    clock.advance(1_000);
    expect(await bell.wait(ALL, [], 0)).toEqual(ALL);
  });
});

describe("doorbell with many waiting receives", () => {
  /** `n` waits on every partition, each with `max`, parked in order; resolves once all are parked. */
  const park = async (bell: ReturnType<typeof doorbell>, n: number, max: number) => {
    const answered: number[] = [];
    const waits: Promise<number[]>[] = [];
    for (let k = 0; k < n; k++) {
      // One at a time, so that the order they arrive in is k's.
      waits.push(bell.wait(ALL, empty(...ALL), 5_000, max).then((ready) => (answered.push(k), ready)));
      await expect.poll(() => bell.waiting()).toBe(k + 1);
    }
    return { answered, waits };
  };

  it("wakes one of 8 waiting receives for a ring of one message, the one waiting longest", async () => {
    const bell = doorbell();
    const { answered } = await park(bell, 8, 10);
    await bell.ring(2, 1, 1);
    await expect.poll(() => answered).toEqual([0]);
    expect(await bell.waiting()).toBe(7);
    expect(await bell.woken()).toBe(1);
  });

  it("wakes receives until their max_messages cover the messages rung for", async () => {
    const bell = doorbell();
    const { answered } = await park(bell, 8, 2);
    await bell.ring(0, 1, 5);
    // 5 messages, 2 a receive: three receives, in the order they came.
    await expect.poll(() => answered).toEqual([0, 1, 2]);
    expect(await bell.waiting()).toBe(5);
  });

  it("lets no waiting receive starve: one ring at a time wakes them in the order they came", async () => {
    const bell = doorbell();
    const { answered, waits } = await park(bell, 8, 1);
    for (let k = 0; k < 8; k++) await bell.ring(k % 4, k + 1, 1);
    await Promise.all(waits);
    expect(answered).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("wakes every waiting receive for a ring of an unknown number of messages", async () => {
    const bell = doorbell();
    const { waits } = await park(bell, 4, 1);
    await bell.ring(1, 1);
    expect(await Promise.all(waits)).toEqual([[1], [1], [1], [1]]);
  });
});
