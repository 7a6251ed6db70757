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
