import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, call, createSubscription, createTopic } from "../helpers";
import { createKey } from "./keys";

const METHODS = ["log", "info", "warn", "error", "debug"] as const;

describe("logs", () => {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    for (const method of METHODS) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("never contain a secret, a receipt or a message body, also when requests fail", async () => {
    const body = "body-marker-7f3a9c";
    const topic = await createTopic();
    const sub = await createSubscription(topic, { start_position: "earliest" });
    const key = await createKey([`produce:${topic}`, `consume:${topic}`], { rate_limit: { produce_per_second: 1 } });
    const path = `/v1/topics/${topic}/subscriptions/${sub}`;
    const produced = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body, headers: { h: body } }] }, { token: key.secret });
    expect(produced.status).toBe(200);
    const limited = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body }] }, { token: key.secret });
    expect(limited.status).toBe(429);
    const received = await call("POST", `${path}/receive`, { max_messages: 10 }, { token: key.secret });
    const receipt: string = received.body.messages[0].receipt;
    await call("POST", `${path}/ack`, { receipts: [receipt, `${receipt}x`] }, { token: key.secret });
    await call("POST", `${path}/nack`, { receipts: [receipt], reason: body }, { token: key.secret });
    await call("GET", "/v1/topics", undefined, { token: `${key.secret.slice(0, -1)}Q` });
    await call("GET", "/v1/topics", undefined, { token: `${ADMIN_TOKEN}x` });
    await call("POST", `/v1/topics/${topic}/messages`, undefined, { token: key.secret, raw: `{"messages":[{"body":"${body}"` });
    await call("DELETE", `/v1/keys/${key.id}`);
    await call("POST", `${path}/receive`, {}, { token: key.secret });

    const text = lines.join("\n");
    for (const secret of [key.secret, key.secret.slice(20), ADMIN_TOKEN, receipt, receipt.split(".")[1]!, body]) {
      expect(text).not.toContain(secret);
    }
  });
});
