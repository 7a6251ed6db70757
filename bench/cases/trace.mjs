// What observability costs: batched produce and receive + ack on a Weir with the trace (and
// the /metrics counters) on, its default, against a second Weir started with WEIR_TRACE=off.
// Runs alternate between the two servers (on first in even runs, off first in odd ones), so
// that drift of the machine falls on both alike.
import { BATCH, CONCURRENCY, WARMUP_FRACTION, config, produceBody } from "../config.mjs";
import { parallel } from "../client.mjs";
import { summarize, summarizeRuns } from "../stats.mjs";
import { drain } from "./consume.mjs";

/** One run on one server: fill a fresh 1-partition topic in batches of 100, then drain it. */
async function once(api, topic, n) {
  await api.createTopic(topic, 1);
  await api.createSubscription(topic, "s");
  const body = produceBody(BATCH);
  let sent = 0;
  const produceStarted = performance.now();
  await parallel(CONCURRENCY, async () => {
    if (sent >= n) return false;
    sent += BATCH;
    await api.call("POST", `/v1/topics/${topic}/messages`, body);
    return true;
  });
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  const drainStarted = performance.now();
  const received = await drain(api, topic, "s", sent, CONCURRENCY);
  return { produce: sent / produceSeconds, receiveAck: received / ((performance.now() - drainStarted) / 1000) };
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

/** The comparison as lines of text. */
export function renderTraceOnOff(t) {
  const f = (s) => `${Math.round(s.median).toLocaleString("en-US")} msg/s (${Math.round(s.min).toLocaleString("en-US")}–${Math.round(s.max).toLocaleString("en-US")})`;
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const verdict = (x) => (x >= 0.85 ? "pass" : "FAIL");
  return [
    "Trace and counters on (default) vs off (WEIR_TRACE=off), 1 partition, batches of 100, concurrency 8",
    `  batched produce   on ${f(t.on.produce)}   off ${f(t.off.produce)}   on/off (median of run pairs) ${pct(t.produceRatio)}  target ≥ 85%: ${verdict(t.produceRatio)}`,
    `  receive + ack     on ${f(t.on.receiveAck)}   off ${f(t.off.receiveAck)}   on/off (median of run pairs) ${pct(t.receiveAckRatio)}  target ≥ 85%: ${verdict(t.receiveAckRatio)}`,
  ].join("\n");
}
