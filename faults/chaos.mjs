// `npm run chaos`: real traffic against a real `wrangler dev` (local persistence in a temporary
// folder), with the whole server killed by SIGKILL at random moments and restarted on the same
// state; then everything is drained and checked. docs/reliability.md explains what it proves.
//
//   npm run chaos                          20 kills over 20,000 messages and 1,000 transactions (the full run)
//   npm run chaos -- --ci                  4 kills over 3,000 messages and 150 transactions (in .ci/run)
//   npm run chaos -- --kills 5 --messages 5000 --seed 42
//   npm run chaos -- --model-runs 1000                     (the model test's runs after the kills)
//   npm run chaos -- --soak --rate 500 --seconds 300   no kills; memory of workerd sampled
//   npm run chaos -- --soak --retention 60             … with the log kept at a steady size
//   npm run chaos -- --large               ~1 MB messages, a surge in flight, SIGKILLs (faults/large-surge.mjs)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, startServer, workerdRssMiB } from "../scripts/local-server.mjs";
import { Ledger } from "./ledger.mjs";
import { awaitAbandoned, call, consumer, persist, producer, seeded, transactor } from "./traffic.mjs";

const { values: args } = parseArgs({
  options: {
    ci: { type: "boolean", default: false },
    soak: { type: "boolean", default: false },
    large: { type: "boolean", default: false },
    kills: { type: "string" },
    messages: { type: "string" },
    transactions: { type: "string" },
    seed: { type: "string" },
    rate: { type: "string", default: "500" },
    seconds: { type: "string", default: "300" },
    // Retention of the topic in seconds (and its dedup window): a short one keeps the logs at a
    // steady size, so that a soak's memory samples show what the server itself holds.
    retention: { type: "string" },
    // Runs of the model test (test/edges/model.test.ts) after the kills; 0 skips it.
    "model-runs": { type: "string" },
  },
});
const kills = Number(args.kills ?? (args.soak ? 0 : args.ci ? 4 : 20));
const seed = Number(args.seed ?? Math.floor(Math.random() * 2 ** 31));
if (args.large) {
  const { runLargeSurge } = await import("./large-surge.mjs");
  const faults = await runLargeSurge({ messages: Number(args.messages ?? (args.ci ? 24 : 60)), kills: Number(args.kills ?? (args.ci ? 2 : 4)), seed });
  if (faults.length > 0) console.log(`\n${faults.length} faults:\n${faults.slice(0, 30).map((f) => `  - ${f}`).join("\n")}`);
  else console.log("\nno faults: every id acked, none after an ok ack, the surge folded back");
  process.exit(faults.length === 0 ? 0 : 1);
}
const soakRate = Number(args.rate);
const total = Number(args.messages ?? (args.soak ? soakRate * Number(args.seconds) : args.ci ? 3000 : 20_000));
const transactions = Number(args.transactions ?? (args.soak ? 0 : args.ci ? 150 : 1000));
const random = seeded(seed);
const TOKEN = "chaos-admin-token";
const TOPIC = "chaos";
const SUBS = [
  { name: "shared", settings: { mode: "shared", visibility_timeout_seconds: 3, max_deliveries: 1000 } },
  { name: "ordered", settings: { mode: "ordered", visibility_timeout_seconds: 3, max_deliveries: 1000 } },
];
const DEADLINE = Date.now() + (args.soak ? Number(args.seconds) * 1000 + 600_000 : args.ci ? 170_000 : 1_500_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

console.log(`chaos: seed ${seed}, ${total} messages, ${transactions} transactions, ${kills} kills${args.soak ? `, soak at ${soakRate} msg/s` : ""}`);
const state = mkdtempSync(join(tmpdir(), "weir-chaos-"));
const port = await freePort();
const vars = { ADMIN_TOKEN: TOKEN };
let server = await startServer({ state, port, vars });
const url = server.url;
const ledger = new Ledger(SUBS.map((s) => s.name));
let survived = 0;
const memory = [];

try {
  const retention = args.retention ? { retention_seconds: Number(args.retention), dedup_window_seconds: Number(args.retention) } : {};
  await persist(() => call(url, TOKEN, "PUT", `/v1/topics/${TOPIC}`, { partitions: 4, ...retention }));
  for (const s of SUBS) await persist(() => call(url, TOKEN, "PUT", `/v1/topics/${TOPIC}/subscriptions/${s.name}`, s.settings));

  const next = { value: 0 };
  let producing = true;
  const batch = args.soak ? 10 : 50;
  // Two producers; without --soak they spread the messages over the kills (about 3 s apart).
  const rate = args.soak ? soakRate / 2 : Math.max(200, total / Math.max(1, kills * 3) / 2);
  const producers = Promise.all(
    [0, 1].map(() =>
      // A steady soak keys every message (100 keys), so that the ordered subscription keeps up:
      // its keyless messages are one sequence per partition.
      producer({ url, token: TOKEN, topic: TOPIC, ledger, next, total, batch, random, rate, ...(args.soak ? { keyed: 1, keys: 100 } : { keyed: 2 / 3, keys: 20 }) }),
    ),
  );
  // Transactions beside the plain producers, spread over the same time (their own random stream,
  // so that the plain traffic of a seed stays the same).
  let open = [];
  const transacting = transactor({
    url, token: TOKEN, topic: TOPIC, ledger, total: transactions, random: seeded(seed + 1),
    pauseMs: transactions === 0 ? 0 : Math.max(0, (Math.max(1, kills) * 3000) / transactions - 20),
  });
  // Abandoned transactions end at their timeout, rolled back; their messages must never come,
  // so the consumers keep going until then.
  const traffic = Promise.all([producers, transacting])
    .then(async () => (open = await awaitAbandoned({ url, token: TOKEN, topic: TOPIC, ledger, deadline: DEADLINE })))
    .then(() => (producing = false));
  const settled = () =>
    (!producing && SUBS.every((s) => ledger.outstanding(s.name).length === 0)) || Date.now() > DEADLINE;
  const consumers = Promise.all(
    SUBS.flatMap((s) =>
      [0, 1].map(() =>
        consumer({ url, token: TOKEN, topic: TOPIC, sub: s.name, ordered: s.settings.mode === "ordered", ledger, random, done: settled }),
      ),
    ),
  );

  // The killer: SIGKILL the whole server at random moments while traffic flows, restart it on the same state.
  const killer = (async () => {
    const spread = 5000;
    for (let k = 0; k < kills && Date.now() < DEADLINE; k++) {
      await sleep(300 + random() * spread);
      await server.kill();
      await sleep(100 + random() * 400);
      server = await startServer({ state, port, vars });
      survived++;
      console.log(`  kill ${survived}: produced ${ledger.produced.size}, delivered ${ledger.deliveries}`);
    }
  })();
  const sampler = args.soak
    ? (async () => {
        while (producing) {
          memory.push({ at: Math.round(process.uptime()), rssMiB: Math.round(workerdRssMiB(server.pid)) });
          await sleep(10_000);
        }
      })()
    : Promise.resolve();

  await Promise.all([traffic, killer, sampler]);
  await consumers;
  await collectDeadLetters();

  const stats = await persist(() => call(url, TOKEN, "GET", `/v1/topics/${TOPIC}/stats`));
  const faults = [...open.map((o) => `abandoned transaction not rolled back: ${o}`), ...ledger.check(stats.body.partitions.map((p) => p.next_offset))];
  report(faults, stats.body);
  process.exitCode = faults.length === 0 ? 0 : 1;
} finally {
  await server.stop();
  rmSync(state, { recursive: true, force: true });
}

// The long run of the model test: random produce / receive / ack / nack / extend / expire /
// delay / retention / crash steps against an in-memory model of the guarantees, in workerd.
// Each request through the test harness's fetch gets slower with every earlier one in the same
// workerd (cloudflare/workers-sdk#15446: a run's time grows with the runs before it), so the
// runs go in batches of MODEL_BATCH_RUNS, each a vitest process of its own with a fresh workerd.
const MODEL_BATCH_RUNS = 40;
const modelRuns = Number(args["model-runs"] ?? (args.soak ? 0 : args.ci ? 40 : 300));
if (modelRuns > 0) {
  const batches = Math.ceil(modelRuns / MODEL_BATCH_RUNS);
  console.log(`
model test: ${modelRuns} runs in ${batches} batch(es) (test/edges/model.test.ts)`);
  // The first failing batch ends them: it has printed its counterexample and seed.
  for (let done = 0, failed = false; done < modelRuns && !failed; done += MODEL_BATCH_RUNS) {
    const runs = Math.min(MODEL_BATCH_RUNS, modelRuns - done);
    const model = spawnSync("npx", ["vitest", "run", "--project", "workerd", "test/edges/model.test.ts"], {
      stdio: "inherit",
      env: { ...process.env, WEIR_MODEL_RUNS: String(runs) },
    });
    failed = model.status !== 0;
    if (failed) process.exitCode = 1;
  }
}

/** Dead letters (none expected with max_deliveries 1000) still count as an end of a message. */
async function collectDeadLetters() {
  const r = await call(url, TOKEN, "GET", `/v1/topics/${TOPIC}.dlq`).catch(() => null);
  if (!r || r.status !== 200) return;
  await call(url, TOKEN, "PUT", `/v1/topics/${TOPIC}.dlq/subscriptions/chaos-check`, { start_position: "earliest" });
  for (;;) {
    const got = await call(url, TOKEN, "POST", `/v1/topics/${TOPIC}.dlq/subscriptions/chaos-check/receive`, { max_messages: 100 });
    if (got.body.messages.length === 0) return;
    for (const m of got.body.messages) ledger.recordDeadLetter(m.headers["weir-source-subscription"], m.id);
    await call(url, TOKEN, "POST", `/v1/topics/${TOPIC}.dlq/subscriptions/chaos-check/ack`, { receipts: got.body.messages.map((m) => m.receipt) });
  }
}


function report(faults, stats) {
  const lost = SUBS.reduce((n, s) => n + ledger.outstanding(s.name).length, 0);
  const rows = [
    ["seed", seed],
    ["messages produced (ids)", ledger.attempted.size],
    ["produces acknowledged (2xx)", ledger.produced.size],
    ["produce requests sent (with retries)", ledger.produceRequests],
    ["deliveries", ledger.deliveries],
    ["redeliveries (attempt > 1)", ledger.redeliveries],
    ["duplicates seen (delivered again after an ok ack)", ledger.duplicatesSeen],
    ["transactions committed / rolled back / abandoned", `${ledger.transactions.committed} / ${ledger.transactions.rolledBack - ledger.transactions.abandoned} / ${ledger.transactions.abandoned}`],
    ["rolled-back transactions' messages (none delivered)", ledger.rolledBack.size],
    ["dead-lettered", SUBS.reduce((n, s) => n + ledger.deadLettered.get(s.name).size, 0)],
    ["lost", lost],
    ["ordering faults", ledger.orderViolations.length],
    ["kills survived", survived],
    ["partition next offsets", stats.partitions.map((p) => p.next_offset).join(", ")],
  ];
  console.log("\nchaos result");
  for (const [name, value] of rows) console.log(`  ${String(name).padEnd(52)} ${value}`);
  if (memory.length > 0) console.log(`  workerd RSS (MiB) every 10 s: ${memory.map((m) => m.rssMiB).join(", ")}`);
  if (faults.length > 0) {
    console.log(`\n${faults.length} faults:`);
    for (const f of faults.slice(0, 30)) console.log(`  - ${f}`);
  } else {
    console.log("\nno faults: nothing lost, nothing invented, offsets gap-free, key order kept, no rolled-back message delivered");
  }
}
