// `npm run bench`: starts a fresh local server (the same `wrangler dev` as `npm start`), runs
// the cases below against it over keep-alive HTTP, prints a table and writes it as JSON to
// bench/results/. Figures are for this machine and this local runtime: compare only figures
// taken in one run. See docs/operations.md#benchmark.
import { mkdirSync, writeFileSync } from "node:fs";
import { startServer } from "../scripts/local-server.mjs";
import { client, parallel, percentile } from "./client.mjs";

const TOKEN = "bench-admin-token";
const BODY_BYTES = 256;
const CONCURRENCY = 8;
const BATCH = 100;
const PRODUCE_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 40_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const LATENCY_RATE = 200;

const payload = "x".repeat(BODY_BYTES - 2); // a JSON string of 256 bytes
const message = () => ({ body: payload });

/** Produces PRODUCE_MESSAGES in batches; `make(i)` builds the i-th message. */
async function produceThroughput(api, topic, make = message) {
  let sent = 0;
  const started = performance.now();
  await parallel(CONCURRENCY, async () => {
    if (sent >= PRODUCE_MESSAGES) return false;
    const first = sent;
    sent += BATCH;
    await api.produce(topic, Array.from({ length: BATCH }, (_, i) => make(first + i)));
    return true;
  });
  const seconds = (performance.now() - started) / 1000;
  return { messages: sent, seconds, msgsPerSecond: sent / seconds };
}

async function receiveAckThroughput(api, topic, sub, expected) {
  let received = 0;
  let emptyInARow = 0;
  const started = performance.now();
  await parallel(CONCURRENCY, async () => {
    if (received >= expected || emptyInARow > CONCURRENCY * 2) return false;
    const { messages } = await api.receive(topic, sub, { max_messages: BATCH });
    if (messages.length === 0) {
      emptyInARow++;
      return true;
    }
    emptyInARow = 0;
    received += messages.length;
    await api.ack(topic, sub, messages.map((m) => m.receipt));
    return true;
  });
  const seconds = (performance.now() - started) / 1000;
  return { messages: received, seconds, msgsPerSecond: received / seconds };
}

/** A consumer waits in a long poll while single messages are produced at a steady rate. */
async function produceToDelivery(api, topic, sub) {
  const latencies = [];
  const total = LATENCY_RATE * LATENCY_SECONDS;
  let stop = false;
  const consumer = (async () => {
    while (!stop || latencies.length < total) {
      const { messages } = await api.receive(topic, sub, { max_messages: BATCH, wait_seconds: 2 });
      const now = performance.now() + performance.timeOrigin;
      for (const m of messages) latencies.push(now - m.body.sentAt);
      if (messages.length > 0) await api.ack(topic, sub, messages.map((m) => m.receipt));
      if (stop && messages.length === 0) break;
    }
  })();
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / LATENCY_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await api.produce(topic, [{ body: { sentAt: performance.now() + performance.timeOrigin, pad: payload.slice(40) } }]);
  }
  stop = true;
  await consumer;
  latencies.sort((a, b) => a - b);
  return { samples: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const server = await startServer({ vars: { ADMIN_TOKEN: TOKEN } });
const api = client(server.url, TOKEN);
const results = {};
try {
  const run = Date.now().toString(36);
  // Throughput: one 4-partition topic with one subscription.
  const topic = `bench-${run}`;
  await api.createTopic(topic, 4);
  await api.createSubscription(topic, "s");
  // Warm-up: compile paths, create the objects.
  await api.produce(topic, Array.from({ length: BATCH }, message));
  await receiveAckThroughput(api, topic, "s", BATCH);

  results.produce = await produceThroughput(api, topic);
  results.receiveAck = await receiveAckThroughput(api, topic, "s", results.produce.messages);

  // The same produce with one message in ten delayed by a minute, and with producer ids.
  const delayedTopic = `delayed-${run}`;
  await api.createTopic(delayedTopic, 4);
  await api.createSubscription(delayedTopic, "s");
  results.produceDelayed = await produceThroughput(api, delayedTopic, (i) =>
    i % 10 === 0 ? { body: payload, delay_seconds: 60 } : { body: payload },
  );
  const dedupTopic = `dedup-${run}`;
  await api.createTopic(dedupTopic, 4);
  await api.createSubscription(dedupTopic, "s");
  results.produceDedup = await produceThroughput(api, dedupTopic, (i) => ({ id: `${run}-${i}`, body: payload }));

  const latencyTopic = `latency-${run}`;
  await api.createTopic(latencyTopic, 4);
  await api.createSubscription(latencyTopic, "s");
  results.latency = await produceToDelivery(api, latencyTopic, "s");
} finally {
  await server.stop();
}

const rows = [
  ["produce, batches of 100 × 256 B, concurrency 8, 4 partitions", `${results.produce.msgsPerSecond.toFixed(0)} msg/s`, `${results.produce.messages} msgs in ${results.produce.seconds.toFixed(2)} s`],
  ["  … with 10% of messages delayed 60 s", `${results.produceDelayed.msgsPerSecond.toFixed(0)} msg/s`, `${(results.produceDelayed.msgsPerSecond / results.produce.msgsPerSecond * 100).toFixed(0)}% of plain`],
  ["  … with producer ids (deduplication)", `${results.produceDedup.msgsPerSecond.toFixed(0)} msg/s`, `${(results.produceDedup.msgsPerSecond / results.produce.msgsPerSecond * 100).toFixed(0)}% of plain`],
  ["receive + ack, batches of 100, concurrency 8, 4 partitions", `${results.receiveAck.msgsPerSecond.toFixed(0)} msg/s`, `${results.receiveAck.messages} msgs in ${results.receiveAck.seconds.toFixed(2)} s`],
  [`produce → delivery, waiting consumer, ${LATENCY_RATE} msg/s`, `p50 ${results.latency.p50.toFixed(1)} ms`, `p99 ${results.latency.p99.toFixed(1)} ms over ${results.latency.samples} msgs`],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`\nWeir benchmark (local wrangler dev, ${new Date().toISOString()})\n`);
for (const [name, figure, detail] of rows) console.log(`${name.padEnd(width)}  ${figure.padStart(14)}  ${detail}`);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/bench-${new Date().toISOString().replaceAll(":", "-")}.json`, import.meta.url);
writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
console.log(`\nwritten to ${file.pathname}`);
