import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ShiftedClock } from "../clock";
import type { RateLimiter } from "../../src/rate-limiter/rate-limiter";
import { call, createSubscription, createTopic } from "../helpers";
import { createKey } from "./keys";

/** Gives the key's limiter a clock the test moves, and returns how to move it. */
async function controlLimiterTime(keyId: string): Promise<(ms: number) => Promise<void>> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(keyId));
  await runInDurableObject<RateLimiter, void>(stub, (limiter) => {
    limiter.clock = new ShiftedClock();
  });
  return (ms) =>
    runInDurableObject<RateLimiter, void>(stub, (limiter) => {
      (limiter.clock as ShiftedClock).advance(ms);
    });
}

const produceOne = (topic: string, token: string) =>
  call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body: 1 }] }, { token });

describe("per-key rate limits", () => {
  it("answers 429 rate_limited with Retry-After once a key is over its produce rate, and stores nothing", async () => {
    const topic = await createTopic();
    const key = await createKey([`produce:${topic}`], { rate_limit: { produce_per_second: 2 } });
    await controlLimiterTime(key.id);
    expect((await produceOne(topic, key.secret)).status).toBe(200);
    expect((await produceOne(topic, key.secret)).status).toBe(200);
    const r = await produceOne(topic, key.secret);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("rate_limited");
    expect(r.headers.get("retry-after")).toBe("1");
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.partitions[0].next_offset).toBe(2);
  });

  it("lets the key through again once the time has passed", async () => {
    const topic = await createTopic();
    const key = await createKey([`produce:${topic}`], { rate_limit: { produce_per_second: 1 } });
    const advance = await controlLimiterTime(key.id);
    expect((await produceOne(topic, key.secret)).status).toBe(200);
    expect((await produceOne(topic, key.secret)).status).toBe(429);
    // The limiter's clock is real time plus what the test adds: leave room for the real part.
    await advance(500);
    expect((await produceOne(topic, key.secret)).status).toBe(429);
    await advance(500);
    expect((await produceOne(topic, key.secret)).status).toBe(200);
  });

  it("counts every consume request (ack too) against receive_per_second, and leaves produce alone", async () => {
    const topic = await createTopic();
    const sub = await createSubscription(topic);
    const key = await createKey([`consume:${topic}`, `produce:${topic}`], { rate_limit: { receive_per_second: 1 } });
    await controlLimiterTime(key.id);
    const path = `/v1/topics/${topic}/subscriptions/${sub}`;
    expect((await call("POST", `${path}/receive`, {}, { token: key.secret })).status).toBe(200);
    const limited = await call("POST", `${path}/receive`, {}, { token: key.secret });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect((await call("POST", `${path}/ack`, { receipts: ["x"] }, { token: key.secret })).status).toBe(429);
    expect((await call("GET", `/v1/topics/${topic}/stats`, undefined, { token: key.secret })).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await produceOne(topic, key.secret)).status).toBe(200);
  });

  it("does not limit keys without a rate_limit, nor the admin token", async () => {
    const topic = await createTopic();
    const key = await createKey([`produce:${topic}`]);
    for (let i = 0; i < 20; i++) expect((await produceOne(topic, key.secret)).status).toBe(200);
  });

  it("counts each key on its own", async () => {
    const topic = await createTopic();
    const a = await createKey([`produce:${topic}`], { rate_limit: { produce_per_second: 1 } });
    const b = await createKey([`produce:${topic}`], { rate_limit: { produce_per_second: 1 } });
    await controlLimiterTime(a.id);
    await controlLimiterTime(b.id);
    expect((await produceOne(topic, a.secret)).status).toBe(200);
    expect((await produceOne(topic, a.secret)).status).toBe(429);
    expect((await produceOne(topic, b.secret)).status).toBe(200);
  });
});
