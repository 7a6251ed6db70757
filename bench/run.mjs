// `npm run bench`: the instrument of docs/performance.md. It starts two fresh local servers —
// Weir (the same `wrangler dev` as `npm start`) and the ceiling Worker of bench/ceilings/ in a
// second `wrangler dev` — each on a free port with temporary state and no network, runs the
// cases over keep-alive HTTP from this process, prints one table with the ceilings, ratios and
// the targets, and writes it as JSON to bench/results/.
//   npm run bench                 the default set, about 10 minutes on 2 cores (trace on/off and competing consumers included)
//   npm run bench -- --quick      a smoke run of every case (1 run each, small sizes)
//   npm run bench -- --soak       5 minutes at 500 msg/s, sampling workerd's memory
//   npm run bench -- --transactions   only prepare + commit beside produce (also part of the default set)
//   npm run bench -- --trace      only the trace on/off comparison (also part of the default set;
//                                 BENCH_TRACE_BASELINE=on: both sides on, the machine's own noise)
//   npm run bench -- --consumers  only the competing consumers of issue 19 (also part of the default set)
// Sizes: BENCH_RUNS, BENCH_MESSAGES, BENCH_REQUESTS, BENCH_LATENCY_REQUESTS,
// BENCH_LATENCY_SECONDS, BENCH_IDLE_SECONDS, BENCH_IDLE_WAIT_SECONDS, BENCH_SOAK_SECONDS,
// BENCH_SOAK_RATE (see bench/config.mjs).
import { client, disturbances } from "./client.mjs";
import { QUICK, SOAK, TRACE_ONLY, config } from "./config.mjs";
import { ceilingCalls } from "./cases/ceilings.mjs";
import { receiveAckRate, receiveAckTwoSubscriptions, receiveWithAckRate } from "./cases/consume.mjs";
import { PARTITION_CALLS_SOURCE, measureIdleConsumer } from "./cases/idle.mjs";
import { measureLargeMessage } from "./cases/large.mjs";
import { measureProduceToDelivery } from "./cases/latency.mjs";
import { COMPETING_RATES, measureCompeting, measureInFlight } from "./cases/competing.mjs";
import { measureLatencies, measureRates } from "./cases/paired.mjs";
import { produceCalls } from "./cases/produce.mjs";
import { measureTransactions, transactionRows } from "./cases/transactions.mjs";
import { renderTraceOnOff, traceOnOff } from "./cases/trace.mjs";
import { startRows } from "./cases/rows.mjs";
import { buildRows, competingRows, renderBreakdown, timeBreakdown } from "./report.mjs";
import { writeResult } from "./results.mjs";
import { startCeilings, startWeir } from "./servers.mjs";
import { runSoak } from "./soak.mjs";
import { renderTable } from "./table.mjs";

const TOKEN = "bench-admin-token";
/** The whole run stops by itself after this long, whatever hangs. */
const RUN_TIMEOUT_MS = (SOAK ? config.soakSeconds + 300 : 25 * 60) * 1000;

const started = performance.now();
const progress = (what) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${what}`);

async function defaultSet(weir, ceilings) {
  const api = client(weir.url, TOKEN);
  const prefix = `b${Date.now().toString(36)}`;
  const results = { config, quick: QUICK, disturbances };
  const ceiling = ceilingCalls(ceilings.url);
  // Exact counts, not timings: measured first, one request at a time; retention is read at the end.
  progress("rows written and read per message: produce, lease, ack, nack, dead-lettering");
  const finishRows = await startRows(api, prefix, weir.url);
  const { calls, backlogTopics } = await produceCalls(api, prefix);
  progress("throughput: ceilings and Weir produce, run by run");
  results.rates = await measureRates(ceiling, calls);
  progress("round trips at concurrency 1: ceilings and Weir produce, run by run");
  results.latencies = await measureLatencies(ceiling, calls);
  progress("receive + ack");
  results.consume = {
    p1: await receiveAckRate(api, backlogTopics.batch1),
    p4: await receiveAckRate(api, backlogTopics.batch4),
    twoSubs: await receiveAckTwoSubscriptions(api, prefix),
    ackWithReceive: await receiveWithAckRate(api, prefix),
  };
  const pids = { weirPid: weir.pid, ceilingPid: ceilings.pid };
  progress("produce → delivery latency");
  results.latency = await measureProduceToDelivery(api, prefix, ceiling, { how: "ackThenReceive", ...pids });
  progress("produce → delivery latency, acking with the next receive");
  results.latencyAckNext = await measureProduceToDelivery(api, prefix, ceiling, { how: "ackWithReceive", ...pids });
  progress("produce → delivery latency, streaming");
  results.latencyStream = await measureProduceToDelivery(api, prefix, ceiling, { how: "stream", ...pids });
  results.competing = await competingSet(api, prefix, ceiling, pids, calls.single4p);
  progress("1 MiB round trip");
  results.large = await measureLargeMessage(api, prefix);
  progress(`idle long-poll consumers (${config.idleSeconds} s)`);
  results.idle = await measureIdleConsumer(api, weir, prefix);
  progress("transactions: prepare + commit beside produce (a quarter of the requests of --transactions)");
  results.transactions = await measureTransactions(api, prefix, { share: 0.25 });
  results.trace = await traceComparison(weir, prefix);
  progress("rows: waiting for retention of the rows case's topics");
  results.rows = await finishRows();
  return results;
}

const TRANSACTIONS_ONLY = process.argv.includes("--transactions");
/** --consumers: only the competing-consumers case of issue 19 (also part of the default set). */
const CONSUMERS_ONLY = process.argv.includes("--consumers");

/** Issue 19: eight long polls and eight streams at 100 and 200 msg/s; single produce with 64 in flight. */
async function competingSet(api, prefix, ceiling, pids, produceSingle4p) {
  const out = { longPoll: {}, stream: {} };
  for (const how of ["longPoll", "stream"]) {
    for (const rate of COMPETING_RATES) {
      progress(`competing consumers: 8 × ${how === "stream" ? "stream" : "long poll"}, ${rate} msg/s`);
      out[how][rate] = await measureCompeting(api, prefix, ceiling, { how, rate, ...pids });
    }
  }
  progress("single produce, 64 in flight, beside the no-op object at 64");
  out.inFlight = await measureInFlight(ceiling, produceSingle4p);
  return out;
}

async function consumersSet(weir, ceilings) {
  const api = client(weir.url, TOKEN);
  const prefix = `b${Date.now().toString(36)}`;
  const { calls } = await produceCalls(api, prefix);
  const pids = { weirPid: weir.pid, ceilingPid: ceilings.pid };
  return { config, quick: QUICK, disturbances, competing: await competingSet(api, prefix, ceilingCalls(ceilings.url), pids, calls.single4p) };
}

function printConsumers(results) {
  const rows = competingRows(results.competing);
  console.log(`\nWeir competing consumers, ${new Date().toISOString()}: median of ${config.runs} run(s) after a warm-up, min–max beside it\n`);
  console.log(renderTable(rows));
  return { rows };
}

async function transactionSet(weir) {
  const api = client(weir.url, TOKEN);
  progress("transactions: prepare + commit beside produce");
  return { config, quick: QUICK, disturbances, transactions: await measureTransactions(api, `b${Date.now().toString(36)}`) };
}

function printTransactions(results) {
  const rows = transactionRows(results.transactions);
  console.log(`\nWeir transactions, ${new Date().toISOString()}: median of ${config.runs} run(s); ratio = transaction ÷ produce\n`);
  console.log(renderTable(rows));
  return { rows };
}

/**
 * Trace on (this Weir) against a second Weir with WEIR_TRACE=off, started for it and stopped
 * after. BENCH_TRACE_BASELINE=on starts the second one with the trace on too: an A/A run, whose
 * "on/off" ratios show how far this machine alone moves the comparison.
 */
async function traceComparison(weir, prefix) {
  const baseline = process.env.BENCH_TRACE_BASELINE ?? "off";
  if (baseline !== "off" && baseline !== "on") throw new Error(`BENCH_TRACE_BASELINE must be off or on, got ${baseline}`);
  progress(`trace on vs off: starting a second Weir with WEIR_TRACE=${baseline}${baseline === "on" ? " (an A/A run: both sides on)" : ""}`);
  const off = await startWeir(TOKEN, { WEIR_TRACE: baseline });
  try {
    progress("trace on vs off: batched produce and receive + ack, alternating");
    return await traceOnOff(client(weir.url, TOKEN), client(off.url, TOKEN), `${prefix}t`);
  } finally {
    await off.stop();
  }
}

function print(results) {
  const rows = [...buildRows(results), ...transactionRows(results.transactions)];
  const breakdown = timeBreakdown(results);
  const { p1, p4 } = results.idle;
  console.log(`\nWeir benchmark${QUICK ? " (--quick: 1 run, small sizes; a smoke test, not a figure)" : ""}, ${new Date().toISOString()}`);
  console.log(`median of ${config.runs} run(s) after a warm-up, min–max beside it; ratio = Weir ÷ ceiling\n`);
  console.log(renderTable(rows));
  console.log(`\n${renderBreakdown(breakdown)}\n`);
  console.log(`${renderTraceOnOff(results.trace)}\n`);
  console.log(
    [
      "Notes",
      "- Ceilings run in a second wrangler dev process (bench/ceilings/) with the same local proxy, on the",
      "  same machine, in the same run, each run measuring a ceiling right before the Weir figures read",
      "  against it; compare only figures taken in one run (they move by up to a third between runs).",
      "- Locally every Durable Object shares one workerd thread: 4 partitions cannot beat 1 here. On",
      "  Cloudflare each partition is its own object (docs/performance.md).",
      `- Idle consumer: receives counted by the bench (1 partition: ${p1.receives}, 4 partitions: ${p4.receives};`,
      `  server log lines: ${p1.receivesInServerLog} and ${p4.receivesInServerLog}); object calls ${PARTITION_CALLS_SOURCE}.`,
    ].join("\n"),
  );
  return { rows, breakdown };
}

const timer = setTimeout(() => {
  console.error(`bench: gave up after ${RUN_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, RUN_TIMEOUT_MS);
timer.unref();

if (TRACE_ONLY) {
  progress("starting Weir");
  const weir = await startWeir(TOKEN);
  let trace;
  try {
    trace = await traceComparison(weir, `b${Date.now().toString(36)}`);
  } finally {
    await weir.stop();
  }
  console.log(`\nWeir benchmark, trace only, ${new Date().toISOString()}; median of ${config.runs} run(s) after a warm-up, min–max beside it\n`);
  console.log(renderTraceOnOff(trace));
  const file = writeResult("trace", { results: { config, trace } });
  progress(`done; written to ${file}`);
  process.exit(0);
}

progress("starting Weir and the ceiling Worker");
// One after the other: two servers choosing free ports at once could choose the same one.
const weir = await startWeir(TOKEN);
let ceilings = null;
try {
  if (!TRANSACTIONS_ONLY) ceilings = await startCeilings();
} catch (error) {
  await weir.stop();
  throw error;
}
const stopAll = () => Promise.all([weir.stop(), ceilings?.stop()]);
process.once("SIGINT", () => stopAll().then(() => process.exit(130)));
// Whatever goes wrong, the servers do not outlive the bench.
process.once("uncaughtException", (error) => {
  console.error(error);
  void stopAll().finally(() => process.exit(1));
});
let results;
try {
  results = SOAK
    ? { ...(await runSoak(client(weir.url, TOKEN), weir, ceilings, progress)), disturbances }
    : TRANSACTIONS_ONLY
      ? await transactionSet(weir)
      : CONSUMERS_ONLY
        ? await consumersSet(weir, ceilings)
        : await defaultSet(weir, ceilings);
} finally {
  await stopAll();
}
const printed = SOAK ? {} : TRANSACTIONS_ONLY ? printTransactions(results) : CONSUMERS_ONLY ? printConsumers(results) : print(results);
// A soak's samples are disturbed too: a reload restarts the isolate and drops its memory.
if (disturbances.reloads > 0) {
  console.log(`\nWARNING: wrangler dev reloaded the Worker during this run (src/ changed; ${disturbances.reloads} requests retried): figures are disturbed, run again.`);
  for (const cut of disturbances.cut) console.log(`  cut: ${cut}`);
  // What wrangler dev said besides its successful requests: why it reloaded, if it said so.
  const said = weir.log().split("\n").filter((line) => line.trim() !== "" && !/^\[wrangler:info\] (GET|PUT|POST|DELETE) \S+ [23]\d\d /.test(line));
  console.log("  Weir's wrangler dev, besides its successful requests (last 40):");
  for (const line of said.slice(-40)) console.log(`    ${line}`);
}

const file = writeResult(SOAK ? "soak" : TRANSACTIONS_ONLY ? "transactions" : CONSUMERS_ONLY ? "consumers" : QUICK ? "quick" : "bench", { results, ...printed });
progress(`done; written to ${file}`);
