// Transactions beside plain produce, in the same runs: prepare + commit (two requests) against
// one produce request of the same messages, on a 1-partition topic (one message) and across a
// 4-partition topic (four keyed messages, one per partition: the transaction spans all four).
// Throughput at concurrency 8 in messages per second; round trips one at a time in ms.
import { CONCURRENCY, WARMUP_FRACTION, config, payload } from "../config.mjs";
import { latency, throughput } from "../measure.mjs";
import { repeat } from "../stats.mjs";

/** Four keys that land on four different partitions of a 4-partition topic (fnv1a32 % 4). */
const SPREAD_KEYS = ["k0", "k1", "k2", "k3"];

/**
 * `share` scales the request counts (config.requests, config.latencyRequests): the default set
 * takes a quarter of them, to stay within its time; `--transactions` takes them whole.
 */
export async function measureTransactions(api, prefix, { share = 1 } = {}) {
  const one = `${prefix}-tx-1p`;
  const four = `${prefix}-tx-4p`;
  await api.createTopic(one, 1);
  await api.createSubscription(one, "s");
  await api.createTopic(four, 4);
  await api.createSubscription(four, "s");
  const keys = await spreadKeys(api, four);
  const single = [{ body: payload }];
  const spread = keys.map((key) => ({ key, body: payload }));
  const produce = (topic, messages) => async () => (await api.produce(topic, messages), messages.length);
  const transact = (topic, messages) => async () => {
    const { transaction } = await api.call("POST", `/v1/topics/${topic}/transactions`, { messages });
    await api.call("POST", `/v1/topics/${topic}/transactions/${transaction.id}/commit`);
    return messages.length;
  };
  const calls = [
    ["produce1p", produce(one, single)],
    ["transaction1p", transact(one, single)],
    ["produce4p", produce(four, spread)],
    ["transaction4p", transact(four, spread)],
  ];
  const rates = await repeat({ runs: config.runs }, async ({ warmup }) => {
    const full = Math.ceil(config.requests * share);
    const requests = warmup ? Math.ceil(full * WARMUP_FRACTION) : full;
    const out = {};
    for (const [name, call] of calls) out[name] = (await throughput({ concurrency: CONCURRENCY, requests, call })).perSecond;
    return out;
  });
  const latencies = await repeat({ runs: config.runs }, async ({ warmup }) => {
    const full = Math.ceil(config.latencyRequests * share);
    const count = warmup ? Math.ceil(full * WARMUP_FRACTION) : full;
    const out = {};
    for (const [name, call] of calls) {
      const { p50, p99 } = await latency({ count, call });
      out[`${name}P50`] = p50;
      out[`${name}P99`] = p99;
    }
    return out;
  });
  return { keys, rates, latencies };
}

/** Keys whose messages go to four different partitions, found by producing and reading the answer. */
async function spreadKeys(api, topic) {
  const found = new Map();
  for (let i = 0; found.size < 4 && i < 200; i++) {
    const key = `key-${i}`;
    const { results } = await api.produce(topic, [{ key, body: payload }]);
    if (!found.has(results[0].partition)) found.set(results[0].partition, key);
  }
  return found.size === 4 ? [...found.values()] : SPREAD_KEYS;
}

/** Table rows: each transaction figure read against plain produce of the same messages. */
export function transactionRows({ rates, latencies }) {
  const row = (label, unit, summary, against) => ({
    label,
    unit,
    summary,
    ...(against ? { ceiling: { label: "produce", median: against.median }, ratio: summary.median / against.median } : {}),
  });
  return [
    { section: "Transactions (prepare + commit) beside produce of the same messages" },
    row("produce, 1 message, 1 partition", "msg/s", rates.produce1p),
    row("prepare + commit, 1 message, 1 partition", "msg/s", rates.transaction1p, rates.produce1p),
    row("produce, 4 messages over 4 partitions", "msg/s", rates.produce4p),
    row("prepare + commit, 4 messages over 4 partitions", "msg/s", rates.transaction4p, rates.produce4p),
    row("produce round trip, 1 message, p50", "ms", latencies.produce1pP50),
    row("prepare + commit round trips, 1 message, p50", "ms", latencies.transaction1pP50, latencies.produce1pP50),
    row("prepare + commit round trips, 1 message, p99", "ms", latencies.transaction1pP99, latencies.produce1pP99),
    row("produce round trip, 4 partitions, p50", "ms", latencies.produce4pP50),
    row("prepare + commit round trips, 4 partitions, p50", "ms", latencies.transaction4pP50, latencies.produce4pP50),
    row("prepare + commit round trips, 4 partitions, p99", "ms", latencies.transaction4pP99, latencies.produce4pP99),
  ];
}
