// Receive + ack with batches of 100 at concurrency 8: one subscription draining a backlog,
// then two subscriptions of one topic drained at the same time (4 consumers each, 8 in all),
// counting messages delivered and acked across both.
import { BATCH, CONCURRENCY, WARMUP_FRACTION, config, produceBody } from "../config.mjs";
import { parallel } from "../client.mjs";
import { repeat } from "../stats.mjs";

/** No drain may take longer than this; a run that hits it fails loudly. */
const DRAIN_TIMEOUT_MS = 120_000;

/**
 * Receives and acks `target` messages of `sub` on `concurrency` loops. Each loop claims a batch
 * before it asks, so no run takes messages that the next run counts on.
 */
export async function drain(api, topic, sub, target, concurrency, timing = { receiveMs: 0, receives: 0, ackMs: 0, acks: 0 }) {
  let claimed = 0;
  let received = 0;
  let emptyInARow = 0;
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  await parallel(concurrency, async () => {
    if (claimed >= target || emptyInARow > concurrency * 4) return false;
    if (Date.now() > deadline) throw new Error(`draining ${topic}/${sub} took over ${DRAIN_TIMEOUT_MS} ms`);
    const ask = Math.min(BATCH, target - claimed);
    claimed += ask;
    const asked = performance.now();
    const { messages } = await api.receive(topic, sub, { max_messages: ask, wait_seconds: 0 });
    timing.receiveMs += performance.now() - asked;
    timing.receives++;
    claimed -= ask - messages.length;
    if (messages.length === 0) {
      emptyInARow++;
      return true;
    }
    emptyInARow = 0;
    received += messages.length;
    const acking = performance.now();
    await api.ack(topic, sub, messages.map((m) => m.receipt));
    timing.ackMs += performance.now() - acking;
    timing.acks++;
    return true;
  });
  return received;
}

const size = (warmup) => (warmup ? Math.ceil(config.messages * WARMUP_FRACTION) : config.messages);

/** Drains the backlog the produce case left in `topic` (subscription "s"), run by run. */
export function receiveAckRate(api, topic) {
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const started = performance.now();
    // How long a receive and an ack of a batch take at concurrency 8: which half costs more.
    const timing = { receiveMs: 0, receives: 0, ackMs: 0, acks: 0 };
    const received = await drain(api, topic, "s", size(warmup), CONCURRENCY, timing);
    return {
      perSecond: received / ((performance.now() - started) / 1000),
      receiveMs: timing.receiveMs / timing.receives,
      ackMs: timing.ackMs / timing.acks,
    };
  });
}

/** Produces at least `n` messages to `topic` in batches at concurrency 8, untimed; answers how many. */
async function fillBacklog(api, topic, n) {
  const body = produceBody(BATCH);
  let sent = 0;
  await parallel(CONCURRENCY, async () => {
    if (sent >= n) return false;
    sent += BATCH;
    await api.call("POST", `/v1/topics/${topic}/messages`, body);
    return true;
  });
  return sent;
}

/**
 * The same drain on one partition with one request per batch: each loop acks its last batch
 * with its next receive (`ack`). Each run fills its backlog first, untimed.
 */
export async function receiveWithAckRate(api, prefix) {
  const topic = `${prefix}-ack-next`;
  await api.createTopic(topic, 1);
  await api.createSubscription(topic, "s");
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const n = size(warmup);
    const sent = await fillBacklog(api, topic, n);
    const started = performance.now();
    let received = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        let toAck = [];
        for (;;) {
          const answer = await api.receive(topic, "s", { max_messages: BATCH, ...(toAck.length > 0 ? { ack: toAck } : {}) });
          if (answer.acked?.some((r) => !r.ok)) throw new Error(`ack with receive failed: ${JSON.stringify(answer.acked)}`);
          toAck = answer.messages.map((m) => m.receipt);
          received += answer.messages.length;
          if (answer.messages.length === 0) return;
        }
      }),
    );
    if (received !== sent) throw new Error(`ack with receive: drained ${received} of ${sent}`);
    return { perSecond: received / ((performance.now() - started) / 1000) };
  });
}

/** Two subscriptions of a 4-partition topic; each run fills a backlog (untimed), then drains both. */
export async function receiveAckTwoSubscriptions(api, prefix) {
  const topic = `${prefix}-two-subs`;
  await api.createTopic(topic, 4);
  await api.createSubscription(topic, "a");
  await api.createSubscription(topic, "b");
  return repeat({ runs: config.runs }, async ({ warmup }) => {
    const n = size(warmup);
    const sent = await fillBacklog(api, topic, n);
    const started = performance.now();
    const each = await Promise.all(["a", "b"].map((sub) => drain(api, topic, sub, sent, CONCURRENCY / 2)));
    return { perSecond: (each[0] + each[1]) / ((performance.now() - started) / 1000) };
  });
}
