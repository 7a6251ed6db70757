// Competing consumers (issue 19): eight consumers of one shared subscription on a 4-partition
// topic, as a service with several instances consumes, while single 256-byte messages are
// produced at a steady 100 and 200 msg/s. Eight long polls, each acking its last batch with its
// next receive (as ../shared/peers runs Weir), and separately eight streams. Each run is paired
// with the floor taken just before it, paced alike: an object's one-row insert (a message is
// stored before it is delivered), and the runtime's CPU per no-op request; each streams run
// also with the stream floor after it (streamFloorRun: the same paced messages, each stored by
// an object and handed to one of eight waiting streams of the ceiling Worker).
import { WARMUP_FRACTION, config, payload } from "../config.mjs";
import { percentile, send, streamLines } from "../client.mjs";
import { latency, sleep, throughput } from "../measure.mjs";
import { workerdCpuMs } from "../../scripts/local-server.mjs";
import { repeat } from "../stats.mjs";

export const COMPETING_CONSUMERS = 8;
export const COMPETING_RATES = [100, 200];
/** Each long poll waits at most this long (the peers harness uses 1 s), so that the consumers stop soon after the last message. */
const WAIT_SECONDS = 2;
/** Produce requests in flight at most: beyond that the producer waits (see oneRun). */
const MAX_PRODUCES_IN_FLIGHT = 16;
/** After the last produce, the consumers have this long to see every message. */
const GRACE_MS = 30_000;
/** No-op requests the CPU reference of each run takes at least (the quick bench's 50 would be ±11% of a 10 ms tick). */
const NOOP_CPU_REQUESTS = 300;
/** Streams ack in batches, every this many ms (as the single-consumer case). */
const ACK_EVERY_MS = 50;

const now = () => performance.timeOrigin + performance.now();

/**
 * Eight streams until `done()`, in one process as a service would run them: each ends when its
 * wait_seconds pass (a little after the run), and a new one opens while messages are still due.
 * One acker sends what all eight received every ACK_EVERY_MS, in one request.
 */
async function streamingConsumers(api, topic, seconds, onMessages, done, consumers, calls) {
  let toAck = [];
  let streaming = true;
  const acker = (async () => {
    while (streaming || toAck.length > 0) {
      await sleep(ACK_EVERY_MS);
      if (toAck.length === 0) continue;
      const receipts = toAck;
      toAck = [];
      calls.acks++;
      await api.ack(topic, "s", receipts);
    }
  })();
  const one = async () => {
    while (!done()) {
      calls.streams++;
      const end = await api.stream(topic, "s", { max_messages: 10_000, wait_seconds: Math.ceil(seconds) + 2, heartbeat_seconds: 1 }, (messages) => {
        onMessages(messages);
        toAck.push(...messages.map((m) => m.receipt));
      });
      // The end line says what the stream cost in object calls (seats, and the doorbell's way at its end).
      calls.partitions += end?.partition_calls ?? 0;
      calls.doorbell += end?.doorbell_calls ?? 0;
    }
  };
  await Promise.all(Array.from({ length: consumers }, one));
  streaming = false;
  await acker;
}

/**
 * A long-poll consumer that acks each batch with its next receive (as ../shared/peers runs
 * Weir), until `done()`; adds the object calls each receive made (its Weir-*-Calls headers) to `calls`.
 */
async function longPollConsumer(api, topic, onMessages, done, calls) {
  let ack = [];
  while (!done()) {
    const got = await api.receiveCounted(topic, "s", { max_messages: 100, wait_seconds: WAIT_SECONDS, ...(ack.length > 0 ? { ack } : {}) });
    calls.receives++;
    calls.partitions += got.partitionCalls;
    calls.doorbell += got.doorbellCalls;
    onMessages(got.messages);
    ack = got.messages.map((m) => m.receipt);
  }
  if (ack.length > 0) {
    calls.acks++;
    await api.ack(topic, "s", ack);
  }
}

/**
 * Sends `total` single messages at a steady `rate` (`sendOne` gets each body: its send time and
 * a pad to 256 bytes), with up to MAX_PRODUCES_IN_FLIGHT in flight: a slow send does not hold
 * back the next one's send time, but a server that cannot keep up slows the sender down (the
 * rate achieved, answered, says so) instead of drowning under thousands of open requests.
 */
async function sendPaced(total, rate, sendOne) {
  const started = performance.now();
  const pad = payload.slice(40);
  const inFlight = new Set();
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight.size >= MAX_PRODUCES_IN_FLIGHT) await Promise.race(inFlight);
    const sent = sendOne({ sentAt: now(), pad }).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  return total / ((performance.now() - started) / 1000);
}

/** One run at `rate` msg/s for `seconds`: latencies, CPU per message, and how evenly the consumers got them. */
export async function oneRun(api, topic, { seconds, rate, how, weirPid, consumers = COMPETING_CONSUMERS }) {
  const total = Math.round(rate * seconds);
  const latencies = [];
  let deadline = Infinity;
  const done = () => latencies.length >= total || Date.now() >= deadline;
  const perConsumer = new Array(consumers).fill(0);
  const onMessagesOf = (k) => (messages) => {
    const at = now();
    perConsumer[k] += messages.length;
    for (const m of messages) latencies.push(at - m.body.sentAt);
  };
  const cpuBefore = workerdCpuMs(weirPid);
  // Requests and object calls the consumers made (the produces are `total` requests more).
  const calls = { receives: 0, partitions: 0, doorbell: 0, acks: 0, streams: 0 };
  let k = 0;
  const consuming =
    how === "stream"
      ? streamingConsumers(api, topic, seconds, (messages) => onMessagesOf(0)(messages), done, consumers, calls)
      : Promise.all(Array.from({ length: consumers }, () => longPollConsumer(api, topic, onMessagesOf(k++), done, calls)));
  // Let the consumers park before the first message.
  await sleep(200);
  const achievedRate = await sendPaced(total, rate, (body) => api.produce(topic, [{ body }]));
  deadline = Date.now() + GRACE_MS;
  await consuming;
  if (latencies.length < total) throw new Error(`competing consumers: ${latencies.length} of ${total} messages delivered`);
  const cpuMsPerMessage = (workerdCpuMs(weirPid) - cpuBefore) / total;
  latencies.sort((a, b) => a - b);
  const busiest = how === "stream" ? null : Math.max(...perConsumer) / (total / consumers);
  const perMessage = (n) => n / total;
  const counted =
    how === "stream"
      ? { streamObjectCallsPerMessage: perMessage(calls.partitions + calls.doorbell) }
      : { busiestShare: busiest, receivesPerMessage: perMessage(calls.receives), receiveObjectCallsPerMessage: perMessage(calls.partitions + calls.doorbell) };
  // Every request the Worker served for the run: the produces, and the consumers' receives, acks and stream opens.
  const requestsPerMessage = perMessage(total + calls.receives + calls.acks + calls.streams);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuMsPerMessage, achievedRate, requestsPerMessage, ...counted };
}

/**
 * The stream floor: what produce → a waiting stream costs the runtime with nothing of a queue
 * between them. Eight streams of the ceiling Worker (POST /object/stream), two on each of 4
 * objects, while single messages are sent paced as oneRun sends them to POST /object/ring,
 * whose object inserts the message as a row and hands it to the stream that waited longest;
 * every ACK_EVERY_MS one request (POST /object/acks) calls each object that delivered since,
 * as the streams' acker does with Weir. Fresh objects each run (`tag`).
 */
export async function streamFloorRun(ceilingUrl, ceilingPid, { seconds, rate, tag, consumers = COMPETING_CONSUMERS }) {
  const objects = 4;
  const each = Math.max(1, Math.round((rate * seconds) / consumers));
  const total = each * consumers;
  const latencies = [];
  // Objects that delivered since the last ack request.
  let toAck = new Set();
  const streams = Array.from({ length: consumers }, (_, k) => {
    const object = `${tag}-${k % objects}`;
    return streamLines(ceilingUrl, `/object/stream?object=${object}&count=${each}`, {}, {}, (line) => {
      latencies.push(now() - line.sentAt);
      toAck.add(object);
    });
  });
  let streaming = true;
  const acker = (async () => {
    while (streaming || toAck.size > 0) {
      await sleep(ACK_EVERY_MS);
      if (toAck.size === 0) continue;
      const names = [...toAck].join(",");
      toAck = new Set();
      const response = await send(ceilingUrl, "POST", `/object/acks?objects=${names}`, "{}");
      if (response.status !== 200) throw new Error(`stream floor: acks answered ${response.status} ${response.text}`);
    }
  })();
  await sleep(200);
  const cpuBefore = workerdCpuMs(ceilingPid);
  let sentCount = 0;
  await sendPaced(total, rate, async (body) => {
    const path = `/object/ring?object=${tag}-${sentCount++ % objects}`;
    const response = await send(ceilingUrl, "POST", path, JSON.stringify({ messages: [{ body }] }));
    if (response.status !== 200) throw new Error(`stream floor: ring answered ${response.status} ${response.text}`);
  });
  await Promise.all(streams);
  streaming = false;
  await acker;
  const cpuMsPerMessage = (workerdCpuMs(ceilingPid) - cpuBefore) / total;
  latencies.sort((a, b) => a - b);
  return { cpuMsPerMessage, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Stream floor runs so far in this process: each takes objects of its own. */
let streamFloorRuns = 0;

/**
 * Eight consumers (`how`: "longPoll" or "stream") at `rate` msg/s, each run paired with the
 * paced floor (a one-row insert in the ceiling's object) and the runtime's CPU per paced no-op;
 * a streams run also with the stream floor (streamFloorRun) after it.
 */
export async function measureCompeting(api, prefix, ceiling, { how, rate, weirPid, ceilingPid }) {
  const topic = `${prefix}-competing-${how}-${rate}`;
  await api.createTopic(topic, 4);
  await api.createSubscription(topic, "s");
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const count = warmup ? 20 : config.latencyRequests;
    // /proc counts CPU in 10 ms ticks: the reference takes enough requests for a tick to be noise.
    const noopCount = warmup ? 20 : Math.max(count, NOOP_CPU_REQUESTS);
    const ceilingCpuBefore = workerdCpuMs(ceilingPid);
    await latency({ count: noopCount, call: ceiling.noop, perSecond: rate });
    const noopCpuMs = (workerdCpuMs(ceilingPid) - ceilingCpuBefore) / noopCount;
    const floor = await latency({ count, call: ceiling.insert1, perSecond: rate });
    const seconds = warmup ? Math.max(1, config.latencySeconds * WARMUP_FRACTION) : config.latencySeconds;
    const run = await oneRun(api, topic, { seconds, rate, how, weirPid });
    const paired = { ...run, noopCpuMs, floorP50: floor.p50, floorP99: floor.p99 };
    if (how !== "stream") return paired;
    const streamFloor = await streamFloorRun(ceiling.url, ceilingPid, { seconds, rate, tag: `${topic}-${++streamFloorRuns}` });
    return { ...paired, streamFloorCpuMs: streamFloor.cpuMsPerMessage, streamFloorP50: streamFloor.p50, streamFloorP99: streamFloor.p99 };
  });
}

/** Requests in flight at once for the single-produce case of issue 19. */
export const IN_FLIGHT = 64;

/**
 * Single-message produce to a 4-partition topic with IN_FLIGHT requests in flight, each run
 * paired with the "Worker → no-op object" ceiling at the same concurrency taken just before it,
 * and with the least a durable produce must do: a Worker whose object inserts the one message
 * as a row (over 4 objects, as the topic's 4 partitions) — the storage floor of that ratio.
 */
export function measureInFlight(ceiling, produceSingle4p) {
  const requests = Math.max(IN_FLIGHT * 4, config.requests * 2);
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const n = warmup ? Math.ceil(requests * WARMUP_FRACTION) : requests;
    const objectNoop = (await throughput({ concurrency: IN_FLIGHT, requests: n, call: ceiling.objectNoop })).perSecond;
    const insert1 = (await throughput({ concurrency: IN_FLIGHT, requests: n, call: ceiling.insert1Spread })).perSecond;
    const produce = (await throughput({ concurrency: IN_FLIGHT, requests: n, call: produceSingle4p })).perSecond;
    return { objectNoop, insert1, produce };
  });
}
