// The cost of an idle long-poll consumer: requests reaching partition objects per idle minute.
//
// How it is obtained (the bench cannot see inside the server, and src/ is not instrumented):
// - measured: two consumers, on a 1-partition and a 4-partition topic with no messages, each
//   long-poll for config.idleSeconds with wait_seconds = config.idleWaitSeconds; the bench
//   counts their receive requests, and checks that count against the server's own request log
//   (wrangler dev prints one line per request to the Worker, none for calls to objects);
// - derived: each empty receive is multiplied by the partition calls the receive algorithm
//   makes when it finds nothing (PARTITION_CALLS_PER_EMPTY_RECEIVE below, read from
//   src/routing/receive.ts). When that algorithm changes, change this function with it.
import { config } from "../config.mjs";
import { sleep } from "../measure.mjs";

/**
 * src/routing/receive.ts as of this bench: the lease pass asks 1 partition, then the other
 * P - 1 (a share of 0 still asks); nothing had more, so no round 3; then one parked
 * `awaitDeliverable` call per partition for the whole wait. 2P calls per empty receive.
 */
export const PARTITION_CALLS_PER_EMPTY_RECEIVE = (partitions) => 2 * partitions;
export const PARTITION_CALLS_SOURCE = "derived: 2 × partitions per empty receive (src/routing/receive.ts)";

async function idleConsumer(api, topic, seconds, waitSeconds) {
  const end = Date.now() + seconds * 1000;
  let receives = 0;
  let messages = 0;
  // Only start a poll that can finish inside the window; bounded by the window's length.
  while (Date.now() + waitSeconds * 1000 <= end + 500) {
    receives++;
    messages += (await api.receive(topic, "s", { max_messages: 10, wait_seconds: waitSeconds })).messages.length;
  }
  return { receives, messages };
}

const logged = (server, topic) =>
  server.log().split("\n").filter((line) => line.includes(`/v1/topics/${topic}/subscriptions/s/receive`)).length;

export async function measureIdleConsumer(api, server, prefix) {
  const seconds = config.idleSeconds;
  const wait = Math.min(config.idleWaitSeconds, seconds);
  const topics = { p1: { name: `${prefix}-idle-1p`, partitions: 1 }, p4: { name: `${prefix}-idle-4p`, partitions: 4 } };
  for (const t of Object.values(topics)) {
    await api.createTopic(t.name, t.partitions);
    await api.createSubscription(t.name, "s");
  }
  const runs = await Promise.all(Object.values(topics).map((t) => idleConsumer(api, t.name, seconds, wait)));
  // wrangler dev prints a request's line a moment after answering it.
  await sleep(1_000);
  const out = {};
  Object.values(topics).forEach((t, i) => {
    const { receives, messages } = runs[i];
    if (messages !== 0) throw new Error(`idle consumer on ${t.name} received ${messages} messages`);
    const perReceive = PARTITION_CALLS_PER_EMPTY_RECEIVE(t.partitions);
    out[`p${t.partitions}`] = {
      partitions: t.partitions,
      seconds,
      waitSeconds: wait,
      receives,
      receivesInServerLog: logged(server, t.name),
      partitionCallsPerWait: perReceive,
      partitionCallsPerMinute: (receives * perReceive * 60) / seconds,
    };
  });
  return out;
}
