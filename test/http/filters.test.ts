import { describe, expect, it } from "vitest";
import { ack, createSubscription, createTopic, produce, receive } from "../helpers";

describe("header filters", () => {
  it("lease only matching messages and leave the others to a filter-less consumer", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    await produce(topic, [
      { id: "v1-a", headers: { version: "1" }, body: 1 },
      { id: "v2-a", headers: { version: "2" }, body: 2 },
      { id: "none", body: 3 },
      { id: "v2-b", headers: { version: "2", region: "eu" }, body: 4 },
    ]);
    const v2 = await receive(topic, sub, { max_messages: 10, filter: { headers: { version: "2" } } });
    expect(v2.map((m) => m.id).sort()).toEqual(["v2-a", "v2-b"]);
    const rest = await receive(topic, sub, { max_messages: 10 });
    expect(rest.map((m) => m.id).sort()).toEqual(["none", "v1-a"]);
  });

  it("need every header of the filter to match", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await produce(topic, [
      { id: "eu-2", headers: { version: "2", region: "eu" }, body: 1 },
      { id: "us-2", headers: { version: "2", region: "us" }, body: 2 },
    ]);
    const got = await receive(topic, sub, { max_messages: 10, filter: { headers: { version: "2", region: "eu" } } });
    expect(got.map((m) => m.id)).toEqual(["eu-2"]);
  });

  it("wake a waiting filtered receive only with a matching message", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    const waiting = receive(topic, sub, { wait_seconds: 5, max_messages: 10, filter: { headers: { version: "2" } } });
    await new Promise((r) => setTimeout(r, 100));
    await produce(topic, [{ id: "old", headers: { version: "1" }, body: 1 }]);
    await new Promise((r) => setTimeout(r, 100));
    await produce(topic, [{ id: "new", headers: { version: "2" }, body: 2 }]);
    const got = await waiting;
    expect(got.map((m) => m.id)).toEqual(["new"]);
    await ack(topic, sub, got.map((m) => m.receipt));
    expect((await receive(topic, sub, { max_messages: 10 })).map((m) => m.id)).toEqual(["old"]);
  });

  it("keep ordered subscriptions in key order: a filtered receive waits behind an earlier message of the key", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    await produce(topic, [
      { id: "k-v1", key: "k", headers: { version: "1" }, body: 1 },
      { id: "k-v2", key: "k", headers: { version: "2" }, body: 2 },
    ]);
    expect(await receive(topic, sub, { max_messages: 10, filter: { headers: { version: "2" } } })).toEqual([]);
  });
});
