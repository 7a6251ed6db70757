import { describe, expect, it } from "vitest";
import { DoNotRetry, Weir, WeirError, type Message } from "../src/index.js";
import { topicWithSubscription, until, useWeir } from "./helpers.js";

const { server, weir } = useWeir();

/** A client that records every request it sends: path's last word, status, time. */
function recordingClient(token = server().token) {
  const requests: { action: string; status: number; at: number }[] = [];
  const client = new Weir({
    url: server().url,
    token,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      requests.push({ action: String(input).split("/").pop()!, status: response.status, at: Date.now() });
      return response;
    },
  });
  return { client, requests };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("consume", () => {
  it("runs up to `concurrency` handlers at once and acks every message whose handler resolves", async () => {
    const { topic, subscription } = await topicWithSubscription(weir(), { partitions: 2 });
    await weir().produce(topic, Array.from({ length: 20 }, (_, i) => ({ body: i })));
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const consumer = weir().consume<number>(
      topic,
      subscription,
      async (message) => {
        most = Math.max(most, ++running);
        await sleep(30);
        seen.push(message.body);
        running--;
      },
      { concurrency: 4, waitSeconds: 1 },
    );
    await until(() => consumer.counts.acked === 20);
    await consumer.stop();
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(most).toBe(4);
    expect((await weir().stats(topic)).subscriptions[0]).toMatchObject({ ready: 0, in_flight: 0 });
  });

  it("gives back a message whose handler throws, and it comes again", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: "flaky" }]);
    const attempts: number[] = [];
    const errors: string[] = [];
    const consumer = weir().consume(
      topic,
      subscription,
      (message) => {
        attempts.push(message.attempt);
        if (message.attempt === 1) throw new Error("first time fails");
      },
      { waitSeconds: 1, retryDelaySeconds: () => 0, onError: (error, { stage }) => errors.push(`${stage}: ${String(error)}`) },
    );
    await until(() => consumer.counts.acked === 1);
    await consumer.stop();
    expect(attempts).toEqual([1, 2]);
    expect(consumer.counts).toMatchObject({ retried: 1, acked: 1 });
    expect(errors).toEqual(["handler: Error: first time fails"]);
  });

  it("dead-letters at once a message whose handler throws DoNotRetry, with its reason", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: "poison" }]);
    const settled: string[] = [];
    const consumer = weir().consume(
      topic,
      subscription,
      () => {
        throw new DoNotRetry("cannot parse");
      },
      { waitSeconds: 1, onSettled: (outcome) => settled.push(outcome) },
    );
    await until(() => consumer.counts.deadLettered === 1);
    await consumer.stop();
    expect(settled).toEqual(["dead_lettered"]);
    await weir().putSubscription(`${topic}.dlq`, "inspect", { start_position: "earliest" });
    await until(async () => (await weir().stats(topic)).subscriptions[0]!.dead_letters_pending === 0);
    const { messages } = await weir().receive(`${topic}.dlq`, "inspect");
    expect(messages[0]!.body).toBe("poison");
    expect(Object.values(messages[0]!.headers)).toContain("cannot parse");
  });

  it("extends the lease while a handler runs longer than it", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: "slow" }]);
    const attempts: number[] = [];
    const errors: unknown[] = [];
    const consumer = weir().consume(
      topic,
      subscription,
      async (message) => {
        attempts.push(message.attempt);
        await sleep(6_000);
      },
      // Extended every second, each time to 3 s: a busy machine has 2 s to answer an extend.
      { visibilityTimeoutSeconds: 3, waitSeconds: 1, onError: (e) => errors.push(e) },
    );
    await until(() => attempts.length === 1);
    // Past the first 3 s lease, another consumer finds nothing to take.
    await sleep(4_000);
    expect((await weir().receive(topic, subscription)).messages).toEqual([]);
    await until(() => consumer.counts.acked === 1);
    await consumer.stop();
    expect(attempts).toEqual([1]);
    expect(errors).toEqual([]);
  });

  it("acks with the next receive instead of a request of its own", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, Array.from({ length: 5 }, (_, i) => ({ body: i })));
    const { client, requests } = recordingClient();
    const consumer = client.consume(topic, subscription, () => undefined, { waitSeconds: 1 });
    await until(() => consumer.counts.acked === 5);
    await consumer.stop();
    expect(requests.filter((r) => r.action === "ack")).toEqual([]);
    expect(requests.filter((r) => r.action === "receive").length).toBeGreaterThanOrEqual(6);
  });

  it("hands a batch handler arrays of up to `batch` messages", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, Array.from({ length: 25 }, (_, i) => ({ body: i })));
    const sizes: number[] = [];
    const consumer = weir().consume(
      topic,
      subscription,
      (messages: Message[]) => {
        sizes.push(messages.length);
      },
      { batch: 10, waitSeconds: 1 },
    );
    await until(() => consumer.counts.acked === 25);
    await consumer.stop();
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(25);
  });

  it("backs off on 429 for at least Retry-After", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    const key = await weir().createKey({ name: "slow", scopes: [`consume:${topic}`], rate_limit: { receive_per_second: 1 } });
    // Two consumers on one key of 1 receive a second: their first receives come together, so
    // one of them is refused however slow the machine is.
    const runs = [0, 1].map(() => {
      const { client, requests } = recordingClient(key.secret);
      const errors: WeirError[] = [];
      const consumer = client.consume(topic, subscription, () => undefined, { waitSeconds: 0, onError: (e) => errors.push(e as WeirError) });
      return { consumer, requests, errors };
    });
    // Until one of them has sent its request after a 429.
    const limitedIndex = (requests: { status: number }[]) => requests.findIndex((r) => r.status === 429);
    await until(() => runs.some(({ requests }) => limitedIndex(requests) >= 0 && requests.length > limitedIndex(requests) + 1));
    await Promise.all(runs.map((r) => r.consumer.stop()));
    const { requests, errors } = runs.find(({ requests }) => limitedIndex(requests) >= 0 && requests.length > limitedIndex(requests) + 1)!;
    expect(errors[0]).toMatchObject({ status: 429, code: "rate_limited" });
    expect(errors[0]!.retryAfter).toBeGreaterThanOrEqual(1);
    const limited = limitedIndex(requests);
    expect(requests[limited + 1]!.at - requests[limited]!.at).toBeGreaterThanOrEqual(errors[0]!.retryAfter! * 1000);
  });

  it("stops gracefully: no new leases, the running handler finishes and its message is acked", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ body: 1 }, { body: 2 }]);
    let finished = 0;
    const consumer = weir().consume(
      topic,
      subscription,
      async () => {
        await sleep(500);
        finished++;
      },
      { waitSeconds: 1 },
    );
    await until(() => consumer.counts.inFlight === 1);
    await consumer.stop();
    expect(finished).toBe(1);
    expect(consumer.counts.acked).toBe(1);
    const stats = (await weir().stats(topic)).subscriptions[0]!;
    expect(stats).toMatchObject({ ready: 1, in_flight: 0 });
  });

  it("stops when its AbortSignal aborts, also in the middle of a long poll", async () => {
    const { topic, subscription } = await topicWithSubscription(weir());
    const controller = new AbortController();
    const consumer = weir().consume(topic, subscription, () => undefined, { waitSeconds: 20, signal: controller.signal });
    await sleep(200);
    const started = Date.now();
    controller.abort();
    await consumer.done;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
