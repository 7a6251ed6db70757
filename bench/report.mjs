// Turns the measured results into the table's rows (with ceilings, ratios and target marks)
// and into the "where the time goes" breakdown. Pure functions of the results object.
import { summarize } from "./stats.mjs";
import * as T from "./targets.mjs";
import { CONSUMERS } from "./cases/latency.mjs";
import { COMPETING_CONSUMERS, IN_FLIGHT } from "./cases/competing.mjs";
import { LATENCY_RATE } from "./config.mjs";
import { PRICES, costPerMillion } from "./costs.mjs";

/** Rows per message by phase, and the cost per million messages beside Cloudflare Queues and SQS. */
function rowsRows(rows) {
  if (!rows) return [];
  const fixed = (value) => ({ median: value, min: value, max: value });
  const line = (label, value, unit = "rows/msg", extra = {}) => ({ label, unit, summary: fixed(value), ...extra });
  const one = rows.one;
  const cost = costPerMillion({
    rowsWritten: one.endToEnd.written,
    rowsRead: one.endToEnd.read,
    workerRequests: one.workerRequestsPerMessage,
    objectCalls: one.objectCallsPerMessage,
  });
  const queues = { label: "Cloudflare Queues", median: PRICES.queuesPerMillionMessages };
  return [
    { section: `Rows per message, counted from the partition's SQL cursors (${rows.messages.toLocaleString("en-US")} messages of 200 B, batches of 100 with ids, 1 partition)` },
    line("rows written per message, end to end (1 shared subscription, produce through retention)", one.endToEnd.written, "rows/msg", {
      target: { pass: one.endToEnd.written <= T.ROWS_WRITTEN_END_TO_END, text: `≤ ${T.ROWS_WRITTEN_END_TO_END} (goal ${T.ROWS_WRITTEN_GOAL})` },
    }),
    line("  produce: rows written", one.produce.written),
    line("  lease: rows written", one.lease.written),
    line("  ack: rows written", one.ack.written),
    line("  retention: rows written", one.retention.written),
    line("rows read per message, end to end", one.endToEnd.read),
    line("  produce: rows read", one.produce.read),
    line("  lease: rows read", one.lease.read),
    line("  ack: rows read", one.ack.read),
    line("  retention: rows read", one.retention.read),
    line("each extra subscription: rows written", rows.extraSubscription.written, "rows/msg", {
      target: { pass: rows.extraSubscription.written <= T.ROWS_PER_EXTRA_SUBSCRIPTION, text: `≤ ${T.ROWS_PER_EXTRA_SUBSCRIPTION}` },
    }),
    line("nack (retry at once): rows written", rows.nack.written),
    line("  nack: rows read", rows.nack.read),
    line("dead-lettering (source + dead-letter topic): rows written", rows.deadLettering.written),
    line("  dead-lettering: rows read", rows.deadLettering.read),
    line("Worker requests per message (produce, receive, ack)", one.workerRequestsPerMessage, "calls/msg"),
    line("object calls per message", one.objectCallsPerMessage, "calls/msg"),
    { section: "Cost per million messages, 1 subscription, Cloudflare's published prices (bench/costs.mjs)" },
    line("Weir: rows written and read", cost.rows, "$/M msg", { ceiling: queues, ratio: cost.rows / queues.median }),
    line("Weir: Worker requests and object calls", cost.requests, "$/M msg"),
    line("Weir: storage, 256 B for 4 days", cost.storage, "$/M msg"),
    line("Weir: total", cost.total, "$/M msg", {
      ceiling: queues,
      ratio: cost.total / queues.median,
      target: { pass: cost.total <= queues.median, text: "≤ Cloudflare Queues" },
    }),
    line("Cloudflare Queues: 3 operations of $0.40/M", PRICES.queuesPerMillionMessages, "$/M msg"),
    line("SQS: 3 requests of $0.40/M per 10 messages", PRICES.sqsPerMillionMessages, "$/M msg"),
  ];
}

/**
 * The median of per-run ratios a/b: each run took a and b moments apart (cases/paired.mjs), so
 * the ratio of one run is less disturbed than the ratio of two medians.
 */
const ratio = (a, b) => summarize(a.runs.map((x, i) => x / b.runs[i])).median;

/** The p50 and p99 rows of one produce → delivery case, each against the no-op round trip of its runs. */
function latencyRows(how, latency) {
  const p50 = ratio(latency.p50, latency.noopP50);
  const p99 = ratio(latency.p99, latency.noopP99);
  const overInsert = ratio(latency.p50, latency.pacedInsertP50);
  const floorOfNoop = ratio(latency.pacedInsertP50, latency.noopP50);
  return [
    {
      label: `produce → delivery p50, 200 msg/s, 4 partitions, ${how}`, unit: "ms", summary: latency.p50,
      ceiling: { label: "no-op Worker p50", median: latency.noopP50.median }, ratio: p50,
      target: { pass: p50 <= T.LATENCY_OF_NOOP_ROUND_TRIP, text: `≤ ${T.LATENCY_OF_NOOP_ROUND_TRIP}× no-op p50` },
    },
    {
      label: "  p99, same runs", unit: "ms", summary: latency.p99,
      ceiling: { label: "no-op Worker p99", median: latency.noopP99.median }, ratio: p99,
      target: { pass: p99 <= T.LATENCY_OF_NOOP_ROUND_TRIP, text: `≤ ${T.LATENCY_OF_NOOP_ROUND_TRIP}× no-op p99` },
    },
    {
      // A message is stored before it is delivered: a paced one-row insert's round trip is the floor.
      label: "  p50 against the floor: a paced 1-row insert", unit: "ms", summary: latency.p50,
      ceiling: { label: "paced insert p50", median: latency.pacedInsertP50.median }, ratio: overInsert,
    },
    {
      // Where the p50 target sits against that floor: at or under 2× it leaves no room for delivery.
      label: "  the floor itself: paced 1-row insert p50", unit: "ms", summary: latency.pacedInsertP50,
      ceiling: { label: "no-op Worker p50", median: latency.noopP50.median }, ratio: floorOfNoop,
    },
  ];
}

/**
 * Where the produce → delivery time goes: locally the Worker and every object run in one workerd
 * process, so the CPU it spends per message, against what the runtime spends on a request that
 * does nothing, says how busy it is at 200 msg/s and so how much of a delay is queueing.
 */
function cpuRows(r) {
  const noop = r.latency.noopCpuMs;
  const busy = (latency) => summarize(latency.cpuMsPerMessage.runs.map((ms) => (ms * LATENCY_RATE) / 10));
  return [
    { section: "workerd CPU time in the produce → delivery runs (the Worker and every object share one workerd process)" },
    { label: "runtime's own CPU per no-op request (ceiling Worker, paced)", unit: "ms", summary: noop },
    ...[
      [CONSUMERS.ackThenReceive, r.latency],
      [CONSUMERS.ackWithReceive, r.latencyAckNext],
      [CONSUMERS.stream, r.latencyStream],
    ].flatMap(([how, latency]) => [
      {
        label: `Weir CPU per message, ${how}`, unit: "ms", summary: latency.cpuMsPerMessage,
        ceiling: { label: "no-op request CPU", median: latency.noopCpuMs.median }, ratio: ratio(latency.cpuMsPerMessage, latency.noopCpuMs),
      },
      { label: "  workerd CPU at 200 msg/s, % of one core", unit: "%", summary: busy(latency) },
    ]),
  ];
}

/**
 * Issue 19's rows: eight competing consumers (long polls, then streams) at each rate, against the
 * paced one-row insert of the same runs; CPU per message against the paced no-op's; and single
 * produce with 64 in flight against the no-op object at 64.
 */
export function competingRows(c) {
  if (!c) return [];
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const rows = [{ section: `Competing consumers (issue 19): ${COMPETING_CONSUMERS} consumers of one shared subscription, 4 partitions, single-message produce paced; each run paired with its floor` }];
  for (const [how, label] of [["longPoll", "long-poll consumers"], ["stream", "streams"]]) {
    for (const [rate, m] of Object.entries(c[how] ?? {})) {
      const p50 = ratio(m.p50, m.floorP50);
      const p99 = ratio(m.p99, m.floorP99);
      const cpu = ratio(m.cpuMsPerMessage, m.noopCpuMs);
      rows.push(
        {
          label: `produce → delivery p50, ${COMPETING_CONSUMERS} ${label}, ${rate} msg/s`, unit: "ms", summary: m.p50,
          ceiling: { label: "paced insert p50", median: m.floorP50.median }, ratio: p50,
          target: { pass: p50 <= T.COMPETING_P50_OF_FLOOR, text: `≤ ${T.COMPETING_P50_OF_FLOOR}× floor p50` },
        },
        {
          label: "  p99, same runs", unit: "ms", summary: m.p99,
          ceiling: { label: "paced insert p99", median: m.floorP99.median }, ratio: p99,
          target: { pass: p99 <= T.COMPETING_P99_OF_FLOOR, text: `≤ ${T.COMPETING_P99_OF_FLOOR}× floor p99` },
        },
        {
          label: "  workerd CPU per message", unit: "ms", summary: m.cpuMsPerMessage,
          ceiling: { label: "no-op request CPU", median: m.noopCpuMs.median }, ratio: cpu,
          target: { pass: cpu <= T.CPU_PER_MESSAGE_OF_NOOP, text: `≤ ${T.CPU_PER_MESSAGE_OF_NOOP}× no-op request CPU` },
        },
        ...(m.streamFloorCpuMs
          ? [
              {
                // What produce → a waiting stream costs the runtime with nothing of a queue between
                // them (bench/cases/competing.mjs, streamFloorRun): the share of the CPU that is Weir's.
                label: "  the stream floor's CPU per message (an object stores each message, hands it to a waiting stream; acks)", unit: "ms", summary: m.streamFloorCpuMs,
                ceiling: { label: "no-op request CPU", median: m.noopCpuMs.median }, ratio: ratio(m.streamFloorCpuMs, m.noopCpuMs),
              },
              {
                label: "  workerd CPU per message, against the stream floor's", unit: "ms", summary: m.cpuMsPerMessage,
                ceiling: { label: "stream floor CPU", median: m.streamFloorCpuMs.median }, ratio: ratio(m.cpuMsPerMessage, m.streamFloorCpuMs),
              },
              { label: "  the stream floor's produce → delivery p50", unit: "ms", summary: m.streamFloorP50 },
              { label: "  the stream floor's produce → delivery p99", unit: "ms", summary: m.streamFloorP99 },
            ]
          : []),
        ...(m.requestsPerMessage
          ? [
              {
                // The CPU target's floor in the same runs: each Worker request costs at least a
                // no-op request's CPU before any work of Weir's, so CPU per message cannot go
                // below this many no-op requests (runs recorded earlier lack the count).
                label: "  Worker requests per message (produce, receives, acks, stream opens): the CPU floor, in no-op requests", unit: "req/msg", summary: m.requestsPerMessage,
              },
            ]
          : []),
        { label: "  produce rate achieved (≤ 16 produces in flight)", unit: "msg/s", summary: m.achievedRate },
        ...(m.busiestShare ? [{ label: "  busiest consumer's share, of an even share", unit: "×", summary: m.busiestShare }] : []),
        ...(m.streamObjectCallsPerMessage
          ? [{ label: "  object calls of the streams per message (seats; the doorbell's way at a stream's end)", unit: "calls/msg", summary: m.streamObjectCallsPerMessage }]
          : []),
        ...(m.receivesPerMessage
          ? [
              { label: "  receive requests per message", unit: "calls/msg", summary: m.receivesPerMessage },
              { label: "  object calls of those receives per message (ack, doorbell, leases)", unit: "calls/msg", summary: m.receiveObjectCallsPerMessage },
            ]
          : []),
      );
    }
  }
  if (c.inFlight) {
    const r = ratio(c.inFlight.produce, c.inFlight.objectNoop);
    rows.push({
      label: `single messages, ${IN_FLIGHT} in flight, 4 partitions`, unit: "msg/s", summary: c.inFlight.produce,
      ceiling: { label: `Worker → no-op object, ${IN_FLIGHT} in flight`, median: c.inFlight.objectNoop.median }, ratio: r,
      target: { pass: r >= T.IN_FLIGHT_PRODUCE_OF_OBJECT_NOOP, text: `≥ ${pct(T.IN_FLIGHT_PRODUCE_OF_OBJECT_NOOP)} of ceiling` },
    });
    if (c.inFlight.insert1) {
      // What the target asks of the storage alone: a Worker whose object only inserts the
      // message as one row, against the same no-op ceiling (runs recorded before this row existed lack it).
      rows.push({
        label: `  the storage floor: Worker → object inserts 1 row, ${IN_FLIGHT} in flight, 4 objects`, unit: "req/s", summary: c.inFlight.insert1,
        ceiling: { label: `Worker → no-op object, ${IN_FLIGHT} in flight`, median: c.inFlight.objectNoop.median },
        ratio: ratio(c.inFlight.insert1, c.inFlight.objectNoop),
      });
      rows.push({
        label: `  single messages, ${IN_FLIGHT} in flight, against that floor`, unit: "msg/s", summary: c.inFlight.produce,
        ceiling: { label: "Worker → object inserts 1 row", median: c.inFlight.insert1.median },
        ratio: ratio(c.inFlight.produce, c.inFlight.insert1),
      });
    }
  }
  return rows;
}

export function buildRows(r) {
  const rate = r.rates;
  const lat = r.latencies;
  const insert100 = { label: "object inserts 100 rows", median: rate.insert100.median };
  const insert1 = { label: "object inserts 1 row", median: rate.insert1.median };
  const noSql = { label: "object takes 100 × 256 B, no SQL", median: rate.echo100.median };
  const oneRowBatch = { label: "object inserts 100 × 256 B as one row", median: rate.segment100.median };
  const batchRatio = ratio(rate.batch1p, rate.insert100);
  const single1Ratio = ratio(rate.single1p, rate.insert1);
  const single4Ratio = ratio(rate.single4p, rate.insert1);
  const fourOfOne = ratio(rate.batch4p, rate.batch1p);
  const consumeFourOfOne = ratio(r.consume.p4.perSecond, r.consume.p1.perSecond);
  const idle1 = r.idle.p1;
  const idle4 = r.idle.p4;
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const fixed = (value) => ({ median: value, min: value, max: value });
  const round2 = (value) => Math.round(value * 100) / 100;
  return [
    { section: "Ceilings (bench/ceilings/: a second wrangler dev on this machine, in the same runs)" },
    { label: "no-op Worker, concurrency 8", unit: "req/s", summary: rate.noop },
    { label: "no-op Worker round trip p50, concurrency 1", unit: "ms", summary: lat.noopP50 },
    { label: "no-op Worker round trip p99, concurrency 1", unit: "ms", summary: lat.noopP99 },
    { label: "Worker → no-op object, concurrency 8", unit: "req/s", summary: rate.objectNoop },
    { label: "Worker → no-op object p50, concurrency 1", unit: "ms", summary: lat.objectNoopP50 },
    { label: "object takes 100 × 256 B, no SQL, concurrency 8", unit: "rows/s", summary: rate.echo100 },
    { label: "object inserts 1 row of 256 B, concurrency 8", unit: "req/s", summary: rate.insert1 },
    { label: "object inserts 1 row p50, concurrency 1", unit: "ms", summary: lat.insert1P50 },
    { label: "object inserts 100 rows of 256 B, concurrency 8", unit: "rows/s", summary: rate.insert100 },
    {
      label: "object inserts 100 × 256 B as one row, concurrency 8", unit: "msg/s", summary: rate.segment100,
      ceiling: noSql, ratio: ratio(rate.segment100, rate.echo100),
    },

    { section: "Weir produce, 256 B messages, concurrency 8 (topics with one subscription)" },
    {
      label: "batches of 100, 1 partition", unit: "msg/s", summary: rate.batch1p, ceiling: insert100, ratio: batchRatio,
      target: { pass: batchRatio >= T.BATCH_PRODUCE_OF_INSERT_CEILING, text: `≥ ${pct(T.BATCH_PRODUCE_OF_INSERT_CEILING)} of ceiling` },
    },
    {
      label: "  batches of 100, 1 partition, against the no-SQL ceiling", unit: "msg/s", summary: rate.batch1p,
      ceiling: noSql, ratio: ratio(rate.batch1p, rate.echo100),
      target: {
        pass: ratio(rate.batch1p, rate.echo100) >= T.BATCH_PRODUCE_OF_NO_SQL_CEILING,
        text: `≥ ${pct(T.BATCH_PRODUCE_OF_NO_SQL_CEILING)} of ceiling (issue 13)`,
      },
    },
    {
      // Weir keeps a produce batch as one segment row: storing it that way, with nothing else,
      // is the floor under the line above; what is left between them is Weir's own work.
      label: "  batches of 100, 1 partition, against its storage floor (the batch as one row)", unit: "msg/s", summary: rate.batch1p,
      ceiling: oneRowBatch, ratio: ratio(rate.batch1p, rate.segment100),
    },
    {
      label: "batches of 100, 4 partitions", unit: "msg/s", summary: rate.batch4p, ceiling: insert100, ratio: ratio(rate.batch4p, rate.insert100),
      target: { pass: fourOfOne >= T.FOUR_PARTITIONS_OF_ONE, text: `≥ 1 partition (${pct(fourOfOne)} of it; ≥ ${pct(T.FOUR_PARTITIONS_OF_ONE)} passes)` },
    },
    {
      label: "single messages, 1 partition", unit: "msg/s", summary: rate.single1p, ceiling: insert1, ratio: single1Ratio,
      target: { pass: single1Ratio >= T.SINGLE_PRODUCE_OF_INSERT_CEILING, text: `≥ ${pct(T.SINGLE_PRODUCE_OF_INSERT_CEILING)} of ceiling` },
    },
    {
      label: "single messages, 4 partitions", unit: "msg/s", summary: rate.single4p, ceiling: insert1, ratio: single4Ratio,
      target: { pass: single4Ratio >= T.SINGLE_PRODUCE_OF_INSERT_CEILING, text: `≥ ${pct(T.SINGLE_PRODUCE_OF_INSERT_CEILING)} of ceiling` },
    },
    {
      label: "single message p50, concurrency 1, 1 partition", unit: "ms", summary: lat.single1pP50,
      ceiling: { label: "object inserts 1 row p50", median: lat.insert1P50.median }, ratio: ratio(lat.single1pP50, lat.insert1P50),
    },

    { section: "Weir receive + ack, batches of 100, concurrency 8" },
    {
      label: "1 subscription, 1 partition", unit: "msg/s", summary: r.consume.p1.perSecond,
      target: { pass: r.consume.p1.perSecond.median >= T.RECEIVE_ACK_MSGS_PER_SECOND, text: `≥ ${T.RECEIVE_ACK_MSGS_PER_SECOND.toLocaleString("en-US")} msg/s` },
    },
    {
      label: "1 subscription, 4 partitions", unit: "msg/s", summary: r.consume.p4.perSecond,
      target: {
        pass: r.consume.p4.perSecond.median >= T.RECEIVE_ACK_MSGS_PER_SECOND && consumeFourOfOne >= T.FOUR_PARTITIONS_OF_ONE,
        text: `≥ ${T.RECEIVE_ACK_MSGS_PER_SECOND.toLocaleString("en-US")} msg/s and ≥ 1 partition (${pct(consumeFourOfOne)} of it)`,
      },
    },
    {
      // A receive and an ack are two requests a batch: the runtime's ceiling for that is half of
      // "object takes 100 × 256 B" (one request a batch), before any work of Weir's.
      label: "  1 partition, against two no-SQL requests a batch", unit: "msg/s", summary: r.consume.p1.perSecond,
      ceiling: { label: "object takes 100 × 256 B, twice a batch", median: rate.echo100.median / 2 },
      ratio: r.consume.p1.perSecond.median / (rate.echo100.median / 2),
      target: {
        pass: r.consume.p1.perSecond.median >= T.RECEIVE_ACK_OF_JOB_TABLE,
        text: `≥ ${T.RECEIVE_ACK_OF_JOB_TABLE.toLocaleString("en-US")} msg/s, 2× the job table (issue 13)`,
      },
    },
    { label: "2 subscriptions (4 consumers each), 4 partitions, both counted", unit: "msg/s", summary: r.consume.twoSubs.perSecond },
    {
      label: "1 partition, each batch acked with the next receive (1 request per batch)", unit: "msg/s", summary: r.consume.ackWithReceive.perSecond,
      ceiling: noSql,
      ratio: r.consume.ackWithReceive.perSecond.median / rate.echo100.median,
    },
    { label: "  1 partition: one receive of 100, concurrency 8", unit: "ms", summary: r.consume.p1.receiveMs },
    { label: "  1 partition: one ack of 100, concurrency 8", unit: "ms", summary: r.consume.p1.ackMs },

    { section: "Weir latency (each run paired with a no-op Worker round trip taken just before it)" },
    { label: "no-op Worker round trip p50, paced at 200 req/s", unit: "ms", summary: r.latency.pacedNoopP50 },
    { label: "no-op Worker round trip p99, paced at 200 req/s", unit: "ms", summary: r.latency.pacedNoopP99 },
    { label: "object inserts 1 row, round trip p50, paced at 200 req/s", unit: "ms", summary: r.latency.pacedInsertP50 },
    { label: "object inserts 1 row, round trip p99, paced at 200 req/s", unit: "ms", summary: r.latency.pacedInsertP99 },
    ...latencyRows(CONSUMERS.ackThenReceive, r.latency),
    ...latencyRows(CONSUMERS.ackWithReceive, r.latencyAckNext),
    ...latencyRows(CONSUMERS.stream, r.latencyStream),
    ...cpuRows(r),
    { label: "1 MiB message: produce + receive + ack", unit: "ms", summary: r.large.total },
    { label: "  of which produce", unit: "ms", summary: r.large.produce },
    { label: "  of which receive", unit: "ms", summary: r.large.receive },
    { label: "  of which ack", unit: "ms", summary: r.large.ack },

    { section: `Idle long-poll consumer, wait_seconds ${idle1.waitSeconds}, ${idle1.seconds} s (calls counted by the server)` },
    { label: "partition calls per idle minute, 1 partition", unit: "calls", summary: fixed(idle1.partitionCallsPerMinute) },
    {
      label: "partition calls per idle minute, 4 partitions", unit: "calls", summary: fixed(idle4.partitionCallsPerMinute),
      target: {
        pass: idle4.partitionCallsPerWait <= idle1.partitionCallsPerWait,
        text: `O(1) per wait: ${round2(idle4.partitionCallsPerWait)} per wait vs ${round2(idle1.partitionCallsPerWait)} on 1 partition`,
      },
    },
    { label: "doorbell calls per idle minute, 1 partition", unit: "calls", summary: fixed(idle1.doorbellCallsPerMinute) },
    { label: "doorbell calls per idle minute, 4 partitions", unit: "calls", summary: fixed(idle4.doorbellCallsPerMinute) },
    ...competingRows(r.competing),
    ...rowsRows(r.rows),
  ];
}

/**
 * Where the time goes, from differences between medians taken in this run. At concurrency 1
 * each stage adds its time to a round trip; in batches, the cost per message of moving the
 * payload into the object, of SQLite, and of Weir's own work. Differences of medians are
 * estimates: a negative one means the stage is below the noise.
 */
export function timeBreakdown(r) {
  const lat = r.latencies;
  const rate = r.rates;
  const m = (s) => s.median;
  const perMessageUs = (summary) => 1e6 / m(summary);
  const stages = [
    ["local proxy + Worker (no-op round trip)", m(lat.noopP50)],
    ["+ call to a Durable Object", m(lat.objectNoopP50) - m(lat.noopP50)],
    ["+ SQLite insert of 1 row in a transaction", m(lat.insert1P50) - m(lat.objectNoopP50)],
    ["+ Weir's own work (auth, validation, catalog, append: log + delivery rows)", m(lat.single1pP50) - m(lat.insert1P50)],
  ];
  const batch = [
    ["request, JSON, and moving 100 × 256 B into the object", perMessageUs(rate.echo100)],
    ["+ SQLite insert of the batch as one row (Weir's storage floor)", perMessageUs(rate.segment100) - perMessageUs(rate.echo100)],
    ["+ Weir's own work (auth, validation, ids, routing, log, answer)", perMessageUs(rate.batch1p) - perMessageUs(rate.segment100)],
    ["(100 rows in one transaction instead, for comparison)", perMessageUs(rate.insert100) - perMessageUs(rate.echo100)],
  ];
  return { singleMessageP50Ms: stages, batchPerMessageUs: batch };
}

export function renderBreakdown(b) {
  const width = Math.max(...[...b.singleMessageP50Ms, ...b.batchPerMessageUs].map(([label]) => label.length));
  const line = ([label, value], unit) => `  ${label.padEnd(width)}  ${value.toFixed(unit === "ms" ? 2 : 1).padStart(8)} ${unit}`;
  return [
    "Where the time goes (differences of medians from this run)",
    "single-message produce at concurrency 1, p50 of a round trip:",
    ...b.singleMessageP50Ms.map((s) => line(s, "ms")),
    "batched produce at concurrency 8 (1 partition), time per message (1 ÷ throughput):",
    ...b.batchPerMessageUs.map((s) => line(s, "µs")),
  ].join("\n");
}
