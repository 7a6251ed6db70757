// @weir/client inside workerd: the main entry runs in a Worker (fetch only, no Node built-ins),
// here speaking to this Worker through its fetch handler.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SERVER_ERROR_CODES } from "../client/src/errors";
import { Weir, WeirError } from "../client/src/index";
import { ERROR_STATUS } from "../src/http/errors";
import { ADMIN_TOKEN, uniqueName } from "./helpers";

const weir = new Weir({
  url: "http://weir.test",
  token: ADMIN_TOKEN,
  fetch: (input, init) => exports.default.fetch(new Request(input, init)),
});

describe("@weir/client in a Worker", () => {
  it("produces, receives and acks", async () => {
    const topic = uniqueName();
    await weir.putTopic(topic);
    await weir.putSubscription(topic, "s", { start_position: "earliest" });
    await weir.produce(topic, [{ body: { hello: "workers" } }]);
    const { messages } = await weir.receive(topic, "s");
    expect(messages[0]!.body).toEqual({ hello: "workers" });
    expect(await weir.ack(topic, "s", [messages[0]!.receipt])).toEqual([{ receipt: messages[0]!.receipt, ok: true }]);
  });

  it("reads a stream", async () => {
    const topic = uniqueName();
    await weir.putTopic(topic);
    await weir.putSubscription(topic, "s", { start_position: "earliest" });
    await weir.produce(topic, [{ body: 1 }, { body: 2 }]);
    const bodies: unknown[] = [];
    for await (const batch of weir.stream(topic, "s", { max_messages: 2, wait_seconds: 5 })) bodies.push(...batch.map((m) => m.body));
    expect(bodies).toEqual([1, 2]);
  });

  it("knows every error code the server answers with", () => {
    expect([...SERVER_ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it("throws WeirError for a refused request", async () => {
    const error = await weir.getTopic(uniqueName()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeirError);
    expect(error).toMatchObject({ status: 404, code: "topic_not_found" });
  });
});
