// Weir's produce figures and the ceilings they are read against, measured in the same runs:
// each run measures a ceiling and then the Weir figures that compare with it, one after the
// other, so that whatever else the machine does at that moment weighs on both sides of a ratio
// (other engineers run tests on this machine; a run-long disturbance otherwise skews ratios).
import { BATCH, CONCURRENCY, WARMUP_FRACTION, config } from "../config.mjs";
import { latency, throughput } from "../measure.mjs";
import { repeat } from "../stats.mjs";

/**
 * Throughput at concurrency 8, items per second. Single requests: config.requests per run;
 * batches of 100: config.messages / 100 requests (each moves 100 items).
 */
export function measureRates(ceiling, weir) {
  const singles = config.requests;
  const batches = Math.max(20, Math.ceil(config.messages / BATCH));
  const order = [
    ["noop", ceiling.noop, singles],
    ["objectNoop", ceiling.objectNoop, singles],
    ["insert1", ceiling.insert1, singles],
    ["single1p", weir.single1p, singles],
    ["single4p", weir.single4p, singles],
    ["echo100", ceiling.echo100, batches],
    ["segment100", ceiling.segment100, batches],
    ["insert100", ceiling.insert100, batches],
    ["batch1p", weir.batch1p, batches],
    ["batch4p", weir.batch4p, batches],
  ];
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const out = {};
    for (const [name, call, requests] of order) {
      const n = warmup ? Math.ceil(requests * WARMUP_FRACTION) : requests;
      out[name] = (await throughput({ concurrency: CONCURRENCY, requests: n, call })).perSecond;
    }
    return out;
  });
}

/** Round trips one at a time (concurrency 1), p50 and p99 in ms, config.latencyRequests each. */
export function measureLatencies(ceiling, weir) {
  const order = [
    ["noop", ceiling.noop],
    ["objectNoop", ceiling.objectNoop],
    ["insert1", ceiling.insert1],
    ["single1p", weir.single1p],
  ];
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const count = warmup ? Math.ceil(config.latencyRequests * WARMUP_FRACTION) : config.latencyRequests;
    const out = {};
    for (const [name, call] of order) {
      const { p50, p99 } = await latency({ count, call });
      out[`${name}P50`] = p50;
      out[`${name}P99`] = p99;
    }
    return out;
  });
}
