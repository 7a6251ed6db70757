// The two ways the bench measures: throughput at a fixed concurrency, and latency one request
// at a time. Both are bounded by a request count, and every request by the client's timeout.
import { parallel, percentile } from "./client.mjs";

/**
 * `requests` calls of `call(i)` on `concurrency` loops; `call` resolves to the number of items
 * it moved (messages, rows). Returns items and requests per second.
 */
export async function throughput({ concurrency, requests, call }) {
  let issued = 0;
  let items = 0;
  const started = performance.now();
  await parallel(concurrency, async () => {
    if (issued >= requests) return false;
    // Not `items += await …`: that reads `items` before the await and loses other loops' counts.
    const moved = await call(issued++);
    items += moved;
    return true;
  });
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: items / seconds, requestsPerSecond: requests / seconds, seconds };
}

/** `count` calls of `call(i)` one after another; p50 and p99 of their round trips in ms. */
export async function latency({ count, call, perSecond = null }) {
  const times = [];
  const begun = performance.now();
  for (let i = 0; i < count; i++) {
    // Paced: each call starts on its slot of a steady rate, as the produce → delivery case sends.
    if (perSecond !== null) {
      const wait = begun + (i * 1000) / perSecond - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
