// `npm run chaos -- --large`: messages of about 1 MB, a backlog surge in flight (the cron
// triggered by hand, often, and sometimes twice at once), and the whole server SIGKILLed at
// random moments and restarted on the same state. Then everything is drained and checked: every
// produced id acked, none delivered again after an ok ack, the surge folded back, nothing left.
// Byte budgets (docs/semantics.md) decide how many such messages a receive or a surge move
// carries; this is the run that shows they hold under crashes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startServer } from "../scripts/local-server.mjs";
import { call, persist, seeded } from "./traffic.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{ messages: number, kills: number, seed: number }} options
 * @returns {Promise<string[]>} the faults found (empty: none)
 */
export async function runLargeSurge({ messages, kills, seed }) {
  const random = seeded(seed);
  const TOKEN = "chaos-admin-token";
  const TOPIC = "large";
  const SUB = "shared";
  const state = mkdtempSync(join(tmpdir(), "weir-chaos-large-"));
  const port = await freePort();
  const vars = { ADMIN_TOKEN: TOKEN };
  let server = await startServer({ state, port, vars });
  const url = server.url;
  const api = (method, path, body) => persist(() => call(url, TOKEN, method, path, body));
  const produced = new Set();
  const acked = new Set();
  const afterAck = [];
  let deliveries = 0;
  let crons = 0;
  let sawSurge = false;
  const faults = [];
  console.log(`chaos --large: seed ${seed}, ${messages} messages of ~1 MB, ${kills} kills, surge trigger 10`);
  try {
    await api("PUT", `/v1/topics/${TOPIC}`, { partitions: 2 });
    await api("PUT", `/v1/topics/${TOPIC}/subscriptions/${SUB}`, {
      visibility_timeout_seconds: 5,
      max_deliveries: 1000,
      surge: { enabled: true, trigger_depth: 10, factor: 2, cooldown_seconds: 0 },
    });
    // ~1 MB bodies (a JSON string of 1,000,000 characters), 4 to a request: under its 10 MiB.
    const body = (i) => `${i}:`.padEnd(1_000_000, String.fromCharCode(97 + (i % 26)));
    let producing = true;
    const producer = (async () => {
      for (let i = 0; i < messages; i += 4) {
        const ids = Array.from({ length: Math.min(4, messages - i) }, (_, j) => `big-${i + j}`);
        const r = await api("POST", `/v1/topics/${TOPIC}/messages`, { messages: ids.map((id, j) => ({ id, body: body(i + j) })) });
        if (r.status === 200) for (const id of ids) produced.add(id);
        else faults.push(`produce answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
      }
      producing = false;
    })();
    const cron = async () => {
      crons++;
      await fetch(`${url}/__scheduled?cron=*+*+*+*+*`).catch(() => undefined);
    };
    const crons_ = (async () => {
      while (producing || acked.size < produced.size) {
        // Now and then two runs at once: their leases and compare-and-set keep them apart.
        await (random() < 0.3 ? Promise.all([cron(), cron()]) : cron());
        const stats = await call(url, TOKEN, "GET", `/v1/topics/${TOPIC}/stats`).catch(() => null);
        if (stats?.body?.subscriptions?.[0]?.surge?.state !== "off" && stats) sawSurge = true;
        await sleep(300 + random() * 700);
      }
    })();
    const consumer = (async () => {
      // Starts late, so that a backlog builds up and the surge starts.
      await sleep(4000);
      while (producing || acked.size < produced.size) {
        const got = await call(url, TOKEN, "POST", `/v1/topics/${TOPIC}/subscriptions/${SUB}/receive`, { max_messages: 40, wait_seconds: 1 }).catch(() => null);
        const batch = got?.status === 200 ? got.body.messages : [];
        deliveries += batch.length;
        for (const m of batch) {
          if (acked.has(m.id)) afterAck.push(m.id);
          if (typeof m.body !== "string" || !m.body.startsWith(`${m.id.slice(4)}:`) || m.body.length !== 1_000_000) {
            faults.push(`message ${m.id} came back altered`);
          }
        }
        if (batch.length === 0) continue;
        const r = await call(url, TOKEN, "POST", `/v1/topics/${TOPIC}/subscriptions/${SUB}/ack`, { receipts: batch.map((m) => m.receipt) }).catch(() => null);
        if (r?.status === 200) batch.forEach((m, i) => r.body.results[i].ok && acked.add(m.id));
      }
    })();
    const killer = (async () => {
      for (let k = 0; k < kills; k++) {
        await sleep(2000 + random() * 4000);
        await server.kill();
        await sleep(100 + random() * 400);
        server = await startServer({ state, port, vars });
        console.log(`  kill ${k + 1}: produced ${produced.size}, acked ${acked.size}, deliveries ${deliveries}`);
      }
    })();
    const deadline = Date.now() + 300_000;
    await Promise.race([Promise.all([producer, consumer, crons_, killer]), sleep(300_000)]);
    if (Date.now() > deadline) faults.push("did not finish within 5 minutes");
    // Fold back: a few more cron runs with nothing left.
    for (let i = 0; i < 5; i++) await cron();
    const stats = (await api("GET", `/v1/topics/${TOPIC}/stats`)).body.subscriptions[0];
    for (const id of produced) if (!acked.has(id)) faults.push(`lost: ${id} was produced (2xx) and never acked`);
    for (const id of afterAck) faults.push(`duplicate: ${id} delivered again after an ok ack`);
    if (!sawSurge) faults.push("the surge never started (the run proves nothing about it)");
    if (stats.ready + stats.in_flight + stats.delayed !== 0) faults.push(`left over: ${JSON.stringify(stats)}`);
    if (stats.surge.state !== "off") faults.push(`the surge did not fold back: ${stats.surge.state}`);
    console.log("\nchaos --large result");
    for (const [name, value] of [
      ["seed", seed],
      ["produced (2xx)", produced.size],
      ["deliveries", deliveries],
      ["acked", acked.size],
      ["delivered again after an ok ack", afterAck.length],
      ["cron runs triggered", crons],
      ["surge seen", sawSurge],
      ["kills survived", kills],
    ]) console.log(`  ${String(name).padEnd(40)} ${value}`);
    return faults;
  } finally {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
  }
}
