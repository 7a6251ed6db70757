// The cost of an idle long-poll consumer: requests reaching partition objects, and its
// subscription's doorbell, per idle minute.
//
// Measured, not derived: every receive answers the calls it made to partition objects and to the
// doorbell (the Weir-Partition-Calls and Weir-Doorbell-Calls headers, counted in
// src/routing/receive.ts), and the bench adds them up. Two consumers, on a 1-partition and a
// 4-partition topic with no messages, long-poll for config.idleSeconds with wait_seconds =
// config.idleWaitSeconds; the bench also checks its count of receives against the server's own
// request log (wrangler dev prints one line per request to the Worker, none for calls to objects).
import { config } from "../config.mjs";
import { sleep } from "../measure.mjs";

export const PARTITION_CALLS_SOURCE = "counted by the server (Weir-Partition-Calls, Weir-Doorbell-Calls headers)";

async function idleConsumer(api, topic, seconds, waitSeconds) {
  // The first receive finds every partition empty and arms it; the minute measured is what follows.
  await api.receiveCounted(topic, "s", { max_messages: 10, wait_seconds: 0 });
  const end = Date.now() + seconds * 1000;
  const counted = { receives: 0, messages: 0, partitionCalls: 0, doorbellCalls: 0 };
  // Only start a poll that can finish inside the window; bounded by the window's length.
  while (Date.now() + waitSeconds * 1000 <= end + 500) {
    const answer = await api.receiveCounted(topic, "s", { max_messages: 10, wait_seconds: waitSeconds });
    counted.receives++;
    counted.messages += answer.messages.length;
    counted.partitionCalls += answer.partitionCalls;
    counted.doorbellCalls += answer.doorbellCalls;
  }
  return counted;
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
    const { receives, messages, partitionCalls, doorbellCalls } = runs[i];
    if (messages !== 0) throw new Error(`idle consumer on ${t.name} received ${messages} messages`);
    out[`p${t.partitions}`] = {
      partitions: t.partitions,
      seconds,
      waitSeconds: wait,
      receives,
      // The first, arming receive is not in the window; the log has it.
      receivesInServerLog: logged(server, t.name) - 1,
      partitionCallsPerWait: partitionCalls / receives,
      doorbellCallsPerWait: doorbellCalls / receives,
      partitionCallsPerMinute: (partitionCalls * 60) / seconds,
      doorbellCallsPerMinute: (doorbellCalls * 60) / seconds,
    };
  });
  return out;
}
