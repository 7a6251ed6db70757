import { describe, expect, it } from "vitest";
import { call, createSubscription, createTopic, produce, receive } from "./helpers";

describe("smoke", () => {
  it("produces and receives one message", async () => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic);
    await produce(topic, [{ body: { hello: "world" } }]);
    const got = await receive(topic, sub, { max_messages: 10 });
    expect(got).toHaveLength(1);
    expect(got[0]!.body).toEqual({ hello: "world" });
    expect((await call("GET", "/healthz", undefined, { token: null })).status).toBe(200);
  });
});
