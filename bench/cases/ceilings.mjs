// The runtime's ceilings, measured on the ceiling Worker (bench/ceilings/) in a second
// `wrangler dev` on the same machine during the same run: what a request costs when the
// Worker does nothing, when it calls a Durable Object that does nothing, when the object takes
// 100 messages and does nothing with them, and when it inserts 1 or 100 rows of 256 bytes.
import { send } from "../client.mjs";
import { BATCH, CONCURRENCY, WARMUP_FRACTION, config, produceBody } from "../config.mjs";
import { latency, throughput } from "../measure.mjs";
import { repeat } from "../stats.mjs";

function expectOk(response, what) {
  if (response.status !== 200) throw new Error(`ceiling ${what}: ${response.status} ${response.text}`);
}

export async function measureCeilings(url) {
  const one = produceBody(1);
  const hundred = produceBody(BATCH);
  const get = (path) => async () => (expectOk(await send(url, "GET", path), path), 1);
  const post = (path, body, items) => async () => (expectOk(await send(url, "POST", path, body), path), items);
  // Each ceiling gets objects of its own, so one's table size does not slow another.
  const cases = {
    noop: get("/noop"),
    objectNoop: get("/object/noop?object=noop"),
    echo100: post("/object/echo?object=echo", hundred, BATCH),
    insert1: post("/object/insert?object=insert1", one, 1),
    insert100: post("/object/insert?object=insert100", hundred, BATCH),
  };
  const rate = (call, requests) =>
    repeat({ runs: config.runs }, async ({ warmup }) => {
      const n = warmup ? Math.ceil(requests * WARMUP_FRACTION) : requests;
      return { perSecond: (await throughput({ concurrency: CONCURRENCY, requests: n, call })).perSecond };
    });
  const oneAtATime = (call) =>
    repeat({ runs: config.runs }, async ({ warmup }) =>
      latency({ count: warmup ? Math.ceil(config.latencyRequests * WARMUP_FRACTION) : config.latencyRequests, call }),
    );
  // Batches of 100 move 100 times the items per request: fewer requests keep the time even.
  const batchRequests = Math.max(20, Math.ceil(config.messages / BATCH));
  return {
    noopRate: await rate(cases.noop, config.requests),
    noopLatency: await oneAtATime(cases.noop),
    objectNoopRate: await rate(cases.objectNoop, config.requests),
    objectNoopLatency: await oneAtATime(cases.objectNoop),
    insert1Rate: await rate(cases.insert1, config.requests),
    insert1Latency: await oneAtATime(cases.insert1),
    echo100Rate: await rate(cases.echo100, batchRequests),
    insert100Rate: await rate(cases.insert100, batchRequests),
  };
}
