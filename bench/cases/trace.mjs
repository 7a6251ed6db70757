// What observability costs: batched produce and receive + ack on a Weir with the trace (and
// the /metrics counters) on, its default, against a second Weir started with WEIR_TRACE=off.
// Runs alternate between the two servers (on first in even runs, off first in odd ones), so
// that drift of the machine falls on both alike. Beside the timings, each run reads the rows its
// partition wrote in each phase (GET …/stats/rows, which runs no SQL): exact counts, which do
// not move with the load of the machine, of what the trace and counters add.
import { BATCH, CONCURRENCY, WARMUP_FRACTION, config, produceBody } from "../config.mjs";
import { parallel } from "../client.mjs";
import { summarize, summarizeRuns } from "../stats.mjs";
import { drain } from "./consume.mjs";

async function rowsWritten(api, topic) {
  const counts = await api.call("GET", `/v1/topics/${topic}/stats/rows`);
  return counts.partitions.reduce((n, p) => n + p.rows_written, 0);
}

/** One run on one server: fill a fresh 1-partition topic in batches of 100, then drain it. */
async function once(api, topic, n) {
  await api.createTopic(topic, 1);
  await api.createSubscription(topic, "s");
  const body = produceBody(BATCH);
  const rowsBefore = await rowsWritten(api, topic);
  let sent = 0;
  const produceStarted = performance.now();
  await parallel(CONCURRENCY, async () => {
    if (sent >= n) return false;
    sent += BATCH;
    await api.call("POST", `/v1/topics/${topic}/messages`, body);
    return true;
  });
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  const rowsProduced = await rowsWritten(api, topic);
  const drainStarted = performance.now();
  const received = await drain(api, topic, "s", sent, CONCURRENCY);
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const rowsDrained = await rowsWritten(api, topic);
  return {
    produce: sent / produceSeconds,
    receiveAck: received / drainSeconds,
    produceRows: (rowsProduced - rowsBefore) / sent,
    receiveAckRows: (rowsDrained - rowsProduced) / received,
  };
}

export async function traceOnOff(onApi, offApi, prefix) {
  const samples = { on: [], off: [] };
  for (let run = -1; run < config.runs; run++) {
    // Half the other cases' size: the comparison runs each figure twice (on and off).
    const n = Math.ceil((run < 0 ? config.messages * WARMUP_FRACTION : config.messages) / 2);
    const order = run % 2 === 0 ? ["on", "off"] : ["off", "on"];
    for (const which of order) {
      const result = await once(which === "on" ? onApi : offApi, `${prefix}-trace-${which}-${run + 1}`, n);
      if (run >= 0) samples[which].push(result);
    }
  }
  const on = summarizeRuns(samples.on);
  const off = summarizeRuns(samples.off);
  // Each run's on and off ran back to back: their ratio is less moved by drift of the machine
  // than the ratio of the medians. The median of those ratios is the figure.
  const pairRatios = (key) => summarize(samples.on.map((s, i) => s[key] / samples.off[i][key]));
  return { on, off, produceRatio: pairRatios("produce").median, receiveAckRatio: pairRatios("receiveAck").median };
}

const rowsPerMessage = (x) => x.toFixed(3);

/** The comparison as lines of text. */
export function renderTraceOnOff(t) {
  const f = (s) => `${Math.round(s.median).toLocaleString("en-US")} msg/s (${Math.round(s.min).toLocaleString("en-US")}–${Math.round(s.max).toLocaleString("en-US")})`;
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const verdict = (x) => (x >= 0.85 ? "pass" : "FAIL");
  return [
    "Trace and counters on (default) vs off (WEIR_TRACE=off), 1 partition, batches of 100, concurrency 8",
    `  batched produce   on ${f(t.on.produce)}   off ${f(t.off.produce)}   on/off (median of run pairs) ${pct(t.produceRatio)}  target ≥ 85%: ${verdict(t.produceRatio)}`,
    `  receive + ack     on ${f(t.on.receiveAck)}   off ${f(t.off.receiveAck)}   on/off (median of run pairs) ${pct(t.receiveAckRatio)}  target ≥ 85%: ${verdict(t.receiveAckRatio)}`,
    "Rows written per message (GET …/stats/rows; exact, whatever the load), median of the runs",
    `  batched produce   on ${rowsPerMessage(t.on.produceRows.median)}   off ${rowsPerMessage(t.off.produceRows.median)}   added by the trace ${rowsPerMessage(t.on.produceRows.median - t.off.produceRows.median)}`,
    `  receive + ack     on ${rowsPerMessage(t.on.receiveAckRows.median)}   off ${rowsPerMessage(t.off.receiveAckRows.median)}   added by the trace ${rowsPerMessage(t.on.receiveAckRows.median - t.off.receiveAckRows.median)}`,
  ].join("\n");
}
