// Rows written and read per message, per phase of a message's life, as the partition counts
// them from its SQL cursors (GET …/stats: rows_written, rows_read; docs/storage.md). Exact
// counts, not timings: they do not move with the machine. One partition; batches of 100 with
// producer ids (deduplication on); 200-B bodies.
//   main:  one shared subscription — produce, lease, ack, retention (end to end)
//   extra: the same with two subscriptions, for the cost of each extra one
//   retry: nack (retry at once), then dead-lettering (nack with dead_letter) into a DLQ topic
// Retention needs the messages to be 60 s old (the shortest retention): the case starts first,
// the bench runs its other cases, and `finish` waits for whatever of the minute is left.
import { BATCH, QUICK } from "../config.mjs";

const RETENTION_SECONDS = 60;
const BODY = "r".repeat(198);
/** Messages per measured topic. */
export const ROWS_MESSAGES = Number(process.env.BENCH_ROWS_MESSAGES ?? (QUICK ? 1_000 : 10_000));
const WAIT_TIMEOUT_MS = 180_000;

async function rows(api, topic) {
  const stats = await api.stats(topic);
  return stats.partitions.reduce(
    (n, p) => ({ written: n.written + (p.rows_written ?? NaN), read: n.read + (p.rows_read ?? NaN), messages: n.messages + p.messages }),
    { written: 0, read: 0, messages: 0 },
  );
}

/** Counts the HTTP requests and object calls of a phase. */
function counter() {
  return { workerRequests: 0, objectCalls: 0 };
}

async function produceAll(api, topic, calls, tag) {
  for (let i = 0; i < ROWS_MESSAGES; i += BATCH) {
    const messages = Array.from({ length: Math.min(BATCH, ROWS_MESSAGES - i) }, (_, j) => ({ id: `${tag}-${i + j}`, body: BODY }));
    await api.produce(topic, messages);
    calls.workerRequests++;
    calls.objectCalls++;
  }
}

async function leaseAll(api, topic, sub, calls) {
  const batches = [];
  for (;;) {
    const answer = await api.receiveCounted(topic, sub, { max_messages: BATCH, wait_seconds: 0 });
    calls.workerRequests++;
    calls.objectCalls += answer.partitionCalls + answer.doorbellCalls;
    if (answer.messages.length === 0) return batches;
    batches.push(answer.messages.map((m) => m.receipt));
  }
}

async function settleAll(api, topic, sub, action, batches, body, calls) {
  for (const receipts of batches) {
    await api.call("POST", `/v1/topics/${topic}/subscriptions/${sub}/${action}`, { receipts, ...body });
    calls.workerRequests++;
    calls.objectCalls++;
  }
}

async function until(what, check) {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`rows case: ${what} did not happen in ${WAIT_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const perMessage = (a, b) => ({ written: (b.written - a.written) / ROWS_MESSAGES, read: (b.read - a.read) / ROWS_MESSAGES });

/** One topic's produce, lease and ack phases, with `subs` shared subscriptions. */
async function lifecycle(api, topic, subs) {
  await api.call("PUT", `/v1/topics/${topic}`, { partitions: 1, retention_seconds: RETENTION_SECONDS, dedup_window_seconds: RETENTION_SECONDS });
  for (const sub of subs) await api.createSubscription(topic, sub, { mode: "shared" });
  const calls = counter();
  const start = await rows(api, topic);
  await produceAll(api, topic, calls, topic);
  const producedAt = Date.now();
  const produced = await rows(api, topic);
  const leased = [];
  for (const sub of subs) leased.push(await leaseAll(api, topic, sub, calls));
  const afterLease = await rows(api, topic);
  for (const [k, sub] of subs.entries()) await settleAll(api, topic, sub, "ack", leased[k], {}, calls);
  const acked = await rows(api, topic);
  return { topic, calls, producedAt, start, produced, afterLease, acked };
}

/** Starts the measurements; `finish()` waits for retention and answers the figures. */
export async function startRows(api, prefix) {
  const main = await lifecycle(api, `${prefix}-rows1`, ["s"]);
  const extra = await lifecycle(api, `${prefix}-rows2`, ["s", "t"]);
  // Retries and dead letters: nack everything once (retry at once), then dead-letter it.
  const retryTopic = `${prefix}-rowsdl`;
  const dlq = `${retryTopic}.dlq`;
  await api.call("PUT", `/v1/topics/${dlq}`, { partitions: 1 });
  await api.call("PUT", `/v1/topics/${retryTopic}`, { partitions: 1 });
  await api.createSubscription(retryTopic, "s", { mode: "shared", max_deliveries: 5, dead_letter_topic: dlq });
  const retryCalls = counter();
  await produceAll(api, retryTopic, retryCalls, retryTopic);
  const first = await leaseAll(api, retryTopic, "s", retryCalls);
  const beforeNack = await rows(api, retryTopic);
  await settleAll(api, retryTopic, "s", "nack", first, { delay_seconds: 0 }, retryCalls);
  const nacked = await rows(api, retryTopic);
  const second = await leaseAll(api, retryTopic, "s", retryCalls);
  const beforeDl = { source: await rows(api, retryTopic), dlq: await rows(api, dlq) };
  await settleAll(api, retryTopic, "s", "nack", second, { dead_letter: true }, retryCalls);
  await until("dead-lettering", async () => (await rows(api, dlq)).messages >= ROWS_MESSAGES);
  const afterDl = { source: await rows(api, retryTopic), dlq: await rows(api, dlq) };

  return async function finish() {
    const retained = [];
    for (const run of [main, extra]) {
      const wait = run.producedAt + (RETENTION_SECONDS + 2) * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await until(`retention of ${run.topic}`, async () => (await rows(api, run.topic)).messages === 0);
      retained.push(await rows(api, run.topic));
    }
    const phases = (run, end) => ({
      produce: perMessage(run.start, run.produced),
      lease: perMessage(run.produced, run.afterLease),
      ack: perMessage(run.afterLease, run.acked),
      retention: perMessage(run.acked, end),
      endToEnd: perMessage(run.start, end),
      workerRequestsPerMessage: run.calls.workerRequests / ROWS_MESSAGES,
      objectCallsPerMessage: run.calls.objectCalls / ROWS_MESSAGES,
    });
    const one = phases(main, retained[0]);
    const two = phases(extra, retained[1]);
    const dlSource = perMessage(beforeDl.source, afterDl.source);
    const dlTarget = perMessage(beforeDl.dlq, afterDl.dlq);
    return {
      messages: ROWS_MESSAGES,
      one,
      two,
      extraSubscription: { written: two.endToEnd.written - one.endToEnd.written, read: two.endToEnd.read - one.endToEnd.read },
      nack: perMessage(beforeNack, nacked),
      deadLettering: { written: dlSource.written + dlTarget.written, read: dlSource.read + dlTarget.read },
    };
  };
}
