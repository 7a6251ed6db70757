import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog";
import { doorbellName } from "../../src/shared/object-names";
import { createSubscription, createTopic, produce, receive, type Delivered } from "../helpers";

/** The doorbell where the subscription's long polls wait. */
async function doorbellOf(topic: string, sub: string) {
  const catalog = new Catalog(env.CATALOG);
  const [t, s] = await Promise.all([catalog.getTopic(topic), catalog.getSubscription(topic, sub)]);
  return env.DOORBELL.get(env.DOORBELL.idFromName(doorbellName(t!.uid, s!.uid, s!.surgeStartedAt)));
}

/** 8 receives of one message each, parked on the doorbell of a 4-partition topic. */
async function eightWaiting() {
  const topic = await createTopic(4);
  const sub = await createSubscription(topic);
  // One receive that asks every partition: each, found empty, arms itself.
  await receive(topic, sub, { wait_seconds: 0 });
  const bell = await doorbellOf(topic, sub);
  const answered: Delivered[][] = [];
  const receives = Array.from({ length: 8 }, () =>
    receive(topic, sub, { wait_seconds: 20, max_messages: 1 }).then((messages) => {
      answered.push(messages);
      return messages;
    }),
  );
  await expect.poll(() => bell.waiting(), { timeout: 10_000 }).toBe(8);
  return { topic, sub, bell, answered, receives, wokenBefore: await bell.woken() };
}

describe("competing consumers waiting on one subscription", () => {
  it("wakes one of 8 waiting receives for one produced message, not all 8", async () => {
    const { topic, bell, answered, receives, wokenBefore } = await eightWaiting();
    await produce(topic, [{ body: "one" }]);
    await expect.poll(() => answered.length, { timeout: 10_000 }).toBe(1);
    expect(answered[0]!.map((m) => m.body)).toEqual(["one"]);
    // The other seven were never woken: they wait as they did, each costing nothing meanwhile.
    expect((await bell.woken()) - wokenBefore).toBe(1);
    expect(await bell.waiting()).toBe(7);
    // Seven more messages: one to each of the seven.
    await produce(topic, Array.from({ length: 7 }, (_, i) => ({ body: i })));
    const all = await Promise.all(receives);
    expect(all.map((m) => m.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect((await bell.woken()) - wokenBefore).toBe(8);
  });

  it("delivers 8 messages produced at once to the 8 waiting receives, one each", async () => {
    const { topic, bell, receives, wokenBefore } = await eightWaiting();
    await produce(topic, Array.from({ length: 8 }, (_, i) => ({ body: i })));
    const all = await Promise.all(receives);
    expect(all.flat().map((m) => m.body as number).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect((await bell.woken()) - wokenBefore).toBe(8);
  });
});
