// Rows written and read per message, per phase of a message's life, as the partition counts
// them from its SQL cursors (GET …/stats: rows_written, rows_read; docs/storage.md). Exact
// counts, not timings: they do not move with the machine. One partition; batches of 100 with
// producer ids (deduplication on); 200-B bodies.
//   main:  one shared subscription — produce, lease, ack, retention (end to end)
//   extra: the same with two subscriptions, for the cost of each extra one
//   retry: nack (retry at once), then dead-lettering (nack with dead_letter) into a DLQ topic
// Readings come from GET …/stats/rows, which runs no SQL (so reading changes nothing counted);
// the counters live in the object's memory, so each phase is read right after it, and nothing
// in between lets the object go idle long enough to be evicted.
// Retention: the case starts first with the default retention; the bench runs its other cases;
// `finish` then lowers the retention to 60 s (the messages are older by then), takes a
// reading, and has the cron sweep hand the partition its new rules and run retention.
import { send } from "../client.mjs";
import { BATCH, QUICK } from "../config.mjs";

const RETENTION_SECONDS = 60;
const BODY = "r".repeat(198);
/** Messages per measured topic. */
export const ROWS_MESSAGES = Number(process.env.BENCH_ROWS_MESSAGES ?? (QUICK ? 1_000 : 10_000));
const WAIT_TIMEOUT_MS = 180_000;

async function rows(api, topic) {
  const counts = await api.call("GET", `/v1/topics/${topic}/stats/rows`);
  return counts.partitions.reduce((n, p) => ({ written: n.written + p.rows_written, read: n.read + p.rows_read }), { written: 0, read: 0 });
}

/** Messages stored (full stats: runs SQL, so only after the reading it would disturb). */
async function stored(api, topic) {
  return (await api.stats(topic)).partitions.reduce((n, p) => n + p.messages, 0);
}

/** Reads `topic`'s rows every 300 ms until rows written stayed the same for 2 s (7 s, across a poke, when `poke` is given). */
async function settled(api, topic, poke = null) {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  let last = await rows(api, topic);
  let stableSince = Date.now();
  let poked = 0;
  for (;;) {
    if (poke && Date.now() - poked > 5_000) {
      await poke();
      poked = Date.now();
    }
    await new Promise((r) => setTimeout(r, 300));
    const now = await rows(api, topic);
    if (now.written !== last.written) stableSince = Date.now();
    last = now;
    // With a poke (the cron), stable across one more poke: a pass may have stopped at its budget.
    if (Date.now() - stableSince >= (poke === null ? 2_000 : 7_000) && (poke === null || poked > 0)) return last;
    if (Date.now() > deadline) throw new Error(`rows case: ${topic} did not settle in ${WAIT_TIMEOUT_MS / 1000} s`);
  }
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

const sum = (a, b) => ({ written: a.written + b.written, read: a.read + b.read });
const perMessage = (a, b) => ({ written: (b.written - a.written) / ROWS_MESSAGES, read: (b.read - a.read) / ROWS_MESSAGES });

/** One topic's produce, lease and ack phases, with `subs` shared subscriptions. */
async function lifecycle(api, topic, subs) {
  await api.call("PUT", `/v1/topics/${topic}`, { partitions: 1, dedup_window_seconds: RETENTION_SECONDS });
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
  return { topic, calls, producedAt, start, produced, afterLease, acked, ackedBeforeRetention: acked };
}

/** Starts the measurements; `finish()` waits for retention and answers the figures. */
export async function startRows(api, prefix, url) {
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
  // The outbox forwards in the background: wait until the dead-letter topic stops writing.
  const afterDl = { dlq: await settled(api, dlq), source: await rows(api, retryTopic) };
  if ((await stored(api, dlq)) !== ROWS_MESSAGES) throw new Error("rows case: the dead-letter topic does not hold every dead letter");

  return async function finish() {
    const retained = [];
    const cron = () => send(url, "GET", "/__scheduled?cron=*+*+*+*+*");
    for (const run of [main, extra]) {
      const wait = run.producedAt + (RETENTION_SECONDS + 2) * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await api.call("PUT", `/v1/topics/${run.topic}`, { retention_seconds: RETENTION_SECONDS });
      // The object may have been evicted while idle (its counters start again): a new baseline.
      run.acked = await rows(api, run.topic);
      const end = await settled(api, run.topic, cron);
      if ((await stored(api, run.topic)) !== 0) throw new Error(`rows case: retention left messages in ${run.topic}`);
      retained.push(end);
    }
    const phases = (run, end) => ({
      produce: perMessage(run.start, run.produced),
      lease: perMessage(run.produced, run.afterLease),
      ack: perMessage(run.afterLease, run.ackedBeforeRetention),
      retention: perMessage(run.acked, end),
      // The sum of the phases: the retention phase has its own baseline (see finish).
      endToEnd: sum(perMessage(run.start, run.ackedBeforeRetention), perMessage(run.acked, end)),
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
