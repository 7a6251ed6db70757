// `npm run bench:surge`: drains a backlog (100,000 messages of 256 bytes by default) from a
// 4-partition topic with the surge off, then on, on a fresh local server, and prints both times.
// Locally every Durable Object shares one workerd process, so spreading a backlog over more
// objects cannot drain it faster here; on Cloudflare each object has its own throughput.
// docs/surge.md explains the model. BENCH_BACKLOG changes the size.
import { startServer } from "../scripts/local-server.mjs";
import { client, parallel } from "./client.mjs";

/** The surge bench outlasts brief overloads: a 503 or a reset connection is retried. */
function patient(api) {
  const retry = (fn) => async (...args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(...args);
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };
  return Object.fromEntries(Object.entries(api).map(([name, fn]) => [name, retry(fn)]));
}

const TOKEN = "bench-admin-token";
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const CONCURRENCY = 8;
const BATCH = 100;
const payload = "x".repeat(254);

async function fill(api, topic) {
  let sent = 0;
  await parallel(CONCURRENCY, async () => {
    if (sent >= BACKLOG) return false;
    sent += 1000;
    await api.produce(topic, Array.from({ length: 1000 }, () => ({ body: payload })));
    return true;
  });
}

/** Consumers drain the subscription; `during` runs beside them (the cron, for the surge). */
async function drain(api, topic, sub, during = async () => {}) {
  let received = 0;
  let idle = 0;
  const started = performance.now();
  const cron = during();
  await parallel(CONCURRENCY, async () => {
    if (received >= BACKLOG || idle > 50) return false;
    const { messages } = await api.receive(topic, sub, { max_messages: BATCH });
    if (messages.length === 0) {
      idle++;
      await new Promise((r) => setTimeout(r, 20));
      return true;
    }
    idle = 0;
    received += messages.length;
    await api.ack(topic, sub, messages.map((m) => m.receipt));
    return true;
  });
  await cron;
  return { received, seconds: (performance.now() - started) / 1000 };
}

const server = await startServer({ vars: { ADMIN_TOKEN: TOKEN } });
const api = patient(client(server.url, TOKEN));
const results = {};
try {
  const run = Date.now().toString(36);
  for (const surge of [false, true]) {
    const topic = `surge-${surge ? "on" : "off"}-${run}`;
    await api.createTopic(topic, 4);
    await api.createSubscription(topic, "s", {
      surge: { enabled: surge, trigger_depth: 1000, factor: 4, cooldown_seconds: 0 },
    });
    await fill(api, topic);
    const cronTimes = [];
    const result = await drain(api, topic, "s", async () => {
      if (!surge) return;
      // The cron starts the surge and moves the backlog; run it now instead of waiting a minute.
      // Every half second, until the surge has started, drained and folded back (bounded).
      let started = false;
      for (let i = 0; i < 240; i++) {
        const t = performance.now();
        await fetch(`${server.url}/__scheduled?cron=*+*+*+*+*`);
        cronTimes.push((performance.now() - t) / 1000);
        const state = (await api.stats(topic)).subscriptions[0].surge.state;
        if (state !== "off") started = true;
        else if (started) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    results[surge ? "on" : "off"] = { ...result, cronRuns: cronTimes.length, cronSeconds: cronTimes };
  }
} catch (error) {
  console.error(server.log().split("\n").slice(-30).join("\n"));
  throw error;
} finally {
  await server.stop();
}

console.log(`\nWeir surge benchmark (local wrangler dev, ${new Date().toISOString()})\n`);
for (const [name, r] of Object.entries(results)) {
  console.log(
    `drain ${BACKLOG} messages, surge ${name.padEnd(3)}  ${r.seconds.toFixed(1).padStart(6)} s  ` +
      `${(r.received / r.seconds).toFixed(0).padStart(6)} msg/s` +
      (r.cronRuns ? `  (${r.cronRuns} cron runs, the first ${r.cronSeconds[0].toFixed(1)} s)` : ""),
  );
}
