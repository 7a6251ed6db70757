import { describe, expect, it } from "vitest";
import { produceBatches } from "../src/batches.js";
import { Weir } from "../src/index.js";
import { MAX_MESSAGES_PER_PRODUCE, MAX_PRODUCE_REQUEST_BYTES } from "../src/limits.js";
import * as server from "../../src/shared/limits.js";
import { topicWithSubscription, useWeir } from "./helpers.js";

const { server: weirServer, weir } = useWeir();

describe("produce batches", () => {
  it("uses the server's limits", () => {
    expect(MAX_MESSAGES_PER_PRODUCE).toBe(server.MAX_MESSAGES_PER_PRODUCE);
    expect(MAX_PRODUCE_REQUEST_BYTES).toBe(server.MAX_PRODUCE_REQUEST_BYTES);
  });

  it("splits by message count", () => {
    const batches = produceBatches(Array.from({ length: 2500 }, (_, i) => ({ body: i })));
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
  });

  it("splits by bytes, each request's JSON within the limit", () => {
    const body = "x".repeat(900 * 1024);
    const messages = Array.from({ length: 25 }, () => ({ body }));
    const batches = produceBatches(messages);
    expect(batches.length).toBe(3);
    for (const batch of batches) expect(new TextEncoder().encode(JSON.stringify({ messages: batch })).length).toBeLessThanOrEqual(MAX_PRODUCE_REQUEST_BYTES);
    expect(batches.flat()).toHaveLength(25);
  });

  it("counts bytes, not characters", () => {
    // Each message is 31 bytes of JSON (21 characters) and a comma; the envelope 15 bytes.
    const batches = produceBatches([{ body: "é".repeat(10) }, { body: "é".repeat(10) }], { messages: 1000, bytes: 15 + 2 * 32 - 1 });
    expect(batches.map((b) => b.length)).toEqual([1, 1]);
  });
});

describe("produce", () => {
  it("stores more messages than one request takes, in order, and reports progress", async () => {
    const { topic } = await topicWithSubscription(weir());
    let requests = 0;
    const counting = new Weir({
      url: weirServer().url,
      token: weirServer().token,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
    const progress: number[] = [];
    const results = await counting.produce(
      topic,
      Array.from({ length: 2001 }, (_, i) => ({ id: `m${i}`, body: i })),
      { onProgress: (stored) => progress.push(stored) },
    );
    expect(requests).toBe(3);
    expect(progress).toEqual([1000, 2000, 2001]);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 2001 }, (_, i) => i));
    expect(results[5]).toMatchObject({ id: "m5", duplicate: false });
  });

  it("answers duplicates for ids produced again", async () => {
    const { topic } = await topicWithSubscription(weir());
    await weir().produce(topic, [{ id: "once", body: 1 }]);
    expect(await weir().produce(topic, [{ id: "once", body: 1 }])).toEqual([{ id: "once", partition: 0, offset: 0, duplicate: true }]);
  });
});
