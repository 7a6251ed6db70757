// Produce 256-byte messages to Weir: single-message requests and batches of 100, at
// concurrency 8, to a 1-partition and a 4-partition topic (each with one subscription, as a
// real topic has: a produce then writes the log row and one delivery row per message).
import { BATCH, CONCURRENCY, WARMUP_FRACTION, config, produceBody } from "../config.mjs";
import { latency, throughput } from "../measure.mjs";
import { repeat } from "../stats.mjs";

async function newTopic(api, name, partitions) {
  await api.createTopic(name, partitions);
  await api.createSubscription(name, "s");
  return name;
}

/** msg/s of `perRequest`-message produces at concurrency 8; `requests` per recorded run. */
function produceRate(api, topic, perRequest, requests) {
  const body = produceBody(perRequest);
  const call = async () => (await api.call("POST", `/v1/topics/${topic}/messages`, body), perRequest);
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const n = warmup ? Math.ceil(requests * WARMUP_FRACTION) : requests;
    return { perSecond: (await throughput({ concurrency: CONCURRENCY, requests: n, call })).perSecond };
  });
}

/**
 * Returns the figures and the batched topics, whose backlog (a warm-up and `runs` runs of
 * config.messages each) the receive+ack case drains.
 */
export async function measureProduce(api, prefix) {
  const single1 = await newTopic(api, `${prefix}-single-1p`, 1);
  const single4 = await newTopic(api, `${prefix}-single-4p`, 4);
  const batch1 = await newTopic(api, `${prefix}-batch-1p`, 1);
  const batch4 = await newTopic(api, `${prefix}-batch-4p`, 4);
  const batchRequests = Math.ceil(config.messages / BATCH);
  const one = produceBody(1);
  const figures = {
    single1p: await produceRate(api, single1, 1, config.requests),
    single4p: await produceRate(api, single4, 1, config.requests),
    // One at a time, for the stage-by-stage comparison with the ceilings' latencies.
    singleLatency: await repeat({ runs: config.runs }, async ({ warmup }) =>
      latency({
        count: warmup ? Math.ceil(config.latencyRequests * WARMUP_FRACTION) : config.latencyRequests,
        call: () => api.call("POST", `/v1/topics/${single1}/messages`, one),
      }),
    ),
    batch1p: await produceRate(api, batch1, BATCH, batchRequests),
    batch4p: await produceRate(api, batch4, BATCH, batchRequests),
  };
  return { figures, backlogTopics: { batch1, batch4 } };
}
