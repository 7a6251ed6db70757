// Produce-to-delivery latency: one consumer waits in a long poll on a 4-partition topic while
// single 256-byte messages are produced at a steady 200 msg/s, well below the request-rate
// ceiling, so the figure measures Weir and not a queue of requests. Each message carries its
// send time; both clocks are this process's.
import { BATCH, LATENCY_RATE, WARMUP_FRACTION, config, payload } from "../config.mjs";
import { percentile } from "../client.mjs";
import { latency, sleep } from "../measure.mjs";
import { repeat } from "../stats.mjs";

const WAIT_SECONDS = 20;
/** After the last produce, the consumer has this long to see every message. */
const GRACE_MS = 30_000;

const now = () => performance.timeOrigin + performance.now();

/**
 * One run. The consumer acks each batch either with a request of its own before its next
 * receive, or (`ackWithReceive`) in that next receive's `ack` field, one request per batch.
 */
async function oneRun(api, topic, seconds, ackWithReceive) {
  const total = Math.round(LATENCY_RATE * seconds);
  const latencies = [];
  let deadline = Infinity;
  const consumer = (async () => {
    let toAck = [];
    while (latencies.length < total && Date.now() < deadline) {
      const body = { max_messages: BATCH, wait_seconds: WAIT_SECONDS, ...(toAck.length > 0 ? { ack: toAck } : {}) };
      const { messages } = await api.receive(topic, "s", body);
      const at = now();
      for (const m of messages) latencies.push(at - m.body.sentAt);
      toAck = messages.map((m) => m.receipt);
      if (!ackWithReceive && toAck.length > 0) {
        await api.ack(topic, "s", toAck);
        toAck = [];
      }
    }
    if (toAck.length > 0) await api.ack(topic, "s", toAck);
  })();
  const started = performance.now();
  // The pad keeps the message at about 256 bytes, like every other case.
  const pad = payload.slice(40);
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / LATENCY_RATE - performance.now();
    if (wait > 0) await sleep(wait);
    await api.produce(topic, [{ body: { sentAt: now(), pad } }]);
  }
  deadline = Date.now() + GRACE_MS;
  await consumer;
  if (latencies.length < total) throw new Error(`latency: ${latencies.length} of ${total} messages delivered`);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Each run first takes the no-op Worker's round trip (`noop`, a ceiling call) one request at a
 * time, then the produce-to-delivery run: the ratio compares figures taken moments apart.
 */
export async function measureProduceToDelivery(api, prefix, ceiling, { ackWithReceive = false } = {}) {
  const noop = ceiling.noop;
  const topic = `${prefix}-latency${ackWithReceive ? "-ack-next" : ""}`;
  await api.createTopic(topic, 4);
  await api.createSubscription(topic, "s");
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const baseline = await latency({ count: warmup ? 20 : config.latencyRequests, call: noop });
    // The same round trip sent at the case's pace: a machine that idles between requests
    // answers each one slower than back to back, Weir or not.
    const paced = await latency({ count: warmup ? 20 : config.latencyRequests, call: noop, perSecond: LATENCY_RATE });
    // A message is stored durably before it is delivered: one row inserted by an object, paced
    // alike, is the floor under a produce, before any delivery.
    const pacedInsert = await latency({ count: warmup ? 20 : config.latencyRequests, call: ceiling.insert1, perSecond: LATENCY_RATE });
    const seconds = warmup ? Math.max(1, config.latencySeconds * WARMUP_FRACTION) : config.latencySeconds;
    const run = await oneRun(api, topic, seconds, ackWithReceive);
    return { ...run, noopP50: baseline.p50, noopP99: baseline.p99, pacedNoopP50: paced.p50, pacedNoopP99: paced.p99, pacedInsertP50: pacedInsert.p50, pacedInsertP99: pacedInsert.p99 };
  });
}
