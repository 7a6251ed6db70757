// Produce-to-delivery latency: one consumer waits in a long poll on a 4-partition topic while
// single 256-byte messages are produced at a steady 200 msg/s, well below the request-rate
// ceiling, so the figure measures Weir and not a queue of requests. Each message carries its
// send time; both clocks are this process's. Three consumers (CONSUMERS): two long-poll, one
// streams. Each run also reads the CPU time workerd spent, per message, and the runtime's own
// per request on the ceiling Worker's no-op route.
import { BATCH, LATENCY_RATE, WARMUP_FRACTION, config, payload } from "../config.mjs";
import { percentile } from "../client.mjs";
import { latency, sleep } from "../measure.mjs";
import { workerdCpuMs } from "../../scripts/local-server.mjs";
import { repeat } from "../stats.mjs";

const WAIT_SECONDS = 20;
/** After the last produce, the consumer has this long to see every message. */
const GRACE_MS = 30_000;

const now = () => performance.timeOrigin + performance.now();

/** How a consumer of the produce → delivery case takes its messages. */
export const CONSUMERS = {
  // A long poll per batch, and an ack request of its own after it.
  ackThenReceive: "consumer acks, then receives",
  // A long poll per batch that acks the previous batch (`ack` in the receive).
  ackWithReceive: "consumer acks with its next receive",
  // One stream (POST …/stream) delivers messages as they come; acks go every ACK_EVERY_MS.
  stream: "consumer streams, acks every 50 ms",
};
const ACK_EVERY_MS = 50;

/** A consumer that long-polls (acking each batch as `how` says) until `done()`. */
async function pollingConsumer(api, topic, how, onMessages, done) {
  let toAck = [];
  while (!done()) {
    const body = { max_messages: BATCH, wait_seconds: WAIT_SECONDS, ...(toAck.length > 0 ? { ack: toAck } : {}) };
    const { messages } = await api.receive(topic, "s", body);
    onMessages(messages);
    toAck = messages.map((m) => m.receipt);
    if (how === "ackThenReceive" && toAck.length > 0) {
      await api.ack(topic, "s", toAck);
      toAck = [];
    }
  }
  if (toAck.length > 0) await api.ack(topic, "s", toAck);
}

/**
 * A consumer that streams until `done()`, acking what it got every ACK_EVERY_MS. Each stream
 * asks for the messages still to come, so the last one ends with the last message.
 */
async function streamingConsumer(api, topic, total, onMessages, done) {
  let received = 0;
  let toAck = [];
  const acker = (async () => {
    while (!done() || toAck.length > 0) {
      await sleep(ACK_EVERY_MS);
      if (toAck.length === 0) continue;
      const receipts = toAck;
      toAck = [];
      await api.ack(topic, "s", receipts);
    }
  })();
  while (!done()) {
    await api.stream(topic, "s", { max_messages: total - received, wait_seconds: WAIT_SECONDS }, (messages) => {
      received += messages.length;
      onMessages(messages);
      toAck.push(...messages.map((m) => m.receipt));
    });
  }
  await acker;
}

/**
 * One run: `total` single-message produces paced at LATENCY_RATE while the consumer of `how`
 * takes them. Also counts the requests that cost and the CPU time Weir's workerd used.
 */
async function oneRun(api, topic, seconds, how, weirPid) {
  const total = Math.round(LATENCY_RATE * seconds);
  const latencies = [];
  let deadline = Infinity;
  const done = () => latencies.length >= total || Date.now() >= deadline;
  const onMessages = (messages) => {
    const at = now();
    for (const m of messages) latencies.push(at - m.body.sentAt);
  };
  const cpuBefore = workerdCpuMs(weirPid);
  const consumer = how === "stream" ? streamingConsumer(api, topic, total, onMessages, done) : pollingConsumer(api, topic, how, onMessages, done);
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
  const cpuMsPerMessage = (workerdCpuMs(weirPid) - cpuBefore) / total;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuMsPerMessage };
}

/**
 * Each run first takes the no-op Worker's round trip (`noop`, a ceiling call) one request at a
 * time, then the produce-to-delivery run: the ratio compares figures taken moments apart.
 */
export async function measureProduceToDelivery(api, prefix, ceiling, { how, weirPid, ceilingPid }) {
  const noop = ceiling.noop;
  const topic = `${prefix}-latency-${how}`;
  await api.createTopic(topic, 4);
  await api.createSubscription(topic, "s");
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const baseline = await latency({ count: warmup ? 20 : config.latencyRequests, call: noop });
    // The same round trip sent at the case's pace: a machine that idles between requests
    // answers each one slower than back to back, Weir or not.
    const pacedCount = warmup ? 20 : config.latencyRequests;
    const ceilingCpuBefore = workerdCpuMs(ceilingPid);
    const paced = await latency({ count: pacedCount, call: noop, perSecond: LATENCY_RATE });
    // What the runtime alone spends on one request: the floor under every request of a run.
    const noopCpuMs = (workerdCpuMs(ceilingPid) - ceilingCpuBefore) / pacedCount;
    // A message is stored durably before it is delivered: one row inserted by an object, paced
    // alike, is the floor under a produce, before any delivery.
    const pacedInsert = await latency({ count: warmup ? 20 : config.latencyRequests, call: ceiling.insert1, perSecond: LATENCY_RATE });
    const seconds = warmup ? Math.max(1, config.latencySeconds * WARMUP_FRACTION) : config.latencySeconds;
    const run = await oneRun(api, topic, seconds, how, weirPid);
    return { ...run, noopCpuMs, noopP50: baseline.p50, noopP99: baseline.p99, pacedNoopP50: paced.p50, pacedNoopP99: paced.p99, pacedInsertP50: pacedInsert.p50, pacedInsertP99: pacedInsert.p99 };
  });
}
