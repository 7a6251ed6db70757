// `npm run bench -- --soak`: config.soakSeconds (300) of steady traffic at config.soakRate
// (500) msg/s — batches of 10 produced on a fixed schedule, two consumers receiving and acking
// — while the RSS of Weir's workerd process is sampled every 10 s. Memory is flat when the last
// minute's median is within SOAK_MEMORY_GROWTH of the second minute's (the first minute warms up).
//
// The local runtime's own RSS grows with the requests it serves, whatever the code (a no-op
// Worker: about 190 MiB more after 12,000 requests). So the ceiling Worker (bench/ceilings/)
// runs beside Weir and gets one request to its no-op object for every request Weir gets, and its
// RSS is sampled too: the difference is Weir's own share.
import { ceilingCalls } from "./cases/ceilings.mjs";
import { BODY_BYTES, config, payload } from "./config.mjs";
import { sleep } from "./measure.mjs";
import { workerdRssMiB } from "../scripts/local-server.mjs";
import { summarize } from "./stats.mjs";
import { SOAK_MEMORY_GROWTH } from "./targets.mjs";

const PER_REQUEST = 10;
const SAMPLE_EVERY_MS = 10_000;
const CONSUMERS = 2;

export async function runSoak(api, weir, ceilings, progress) {
  const ceiling = ceilingCalls(ceilings.url);
  let requests = 0;
  const mirrored = new Set();
  /** Counts one Weir request and sends its twin to the ceiling (at most 64 in flight). */
  const mirror = () => {
    requests++;
    if (mirrored.size >= 64) return;
    const p = ceiling.objectNoop().catch(() => undefined);
    mirrored.add(p);
    p.finally(() => mirrored.delete(p));
  };
  const topic = `soak-${Date.now().toString(36)}`;
  // The dedup window may not outlast the retention (24 h by default).
  const retention = config.soakRetentionSeconds;
  await api.call("PUT", `/v1/topics/${topic}`, { partitions: 4, retention_seconds: retention, dedup_window_seconds: Math.min(retention, 86_400) });
  await api.createSubscription(topic, "s");
  const seconds = config.soakSeconds;
  const end = Date.now() + seconds * 1000;
  const body = JSON.stringify({ messages: Array.from({ length: PER_REQUEST }, () => ({ body: payload })) });
  let produced = 0;
  let consumed = 0;
  let errors = 0;
  const samples = [];

  const sampler = (async () => {
    for (let i = 0; Date.now() < end; i++) {
      samples.push({ second: i * (SAMPLE_EVERY_MS / 1000), rssMiB: workerdRssMiB(weir.pid), ceilingMiB: workerdRssMiB(ceilings.pid) });
      const last = samples.at(-1);
      if (i % 6 === 0) {
        progress(`soak: ${produced} produced, ${consumed} acked, ${requests} requests, workerd ${last.rssMiB.toFixed(0)} MiB, ceiling ${last.ceilingMiB.toFixed(0)} MiB`);
      }
      await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, end - Date.now())));
    }
  })();
  const consumers = Array.from({ length: CONSUMERS }, async () => {
    while (Date.now() < end) {
      try {
        mirror();
        const { messages } = await api.receive(topic, "s", { max_messages: 100, wait_seconds: 1 });
        if (messages.length > 0) {
          mirror();
          await api.ack(topic, "s", messages.map((m) => m.receipt));
        }
        consumed += messages.length;
      } catch {
        errors++;
      }
    }
  });
  // Requests go out on a fixed schedule whatever their answers take, as real producers do;
  // at most 64 are in flight, so an overloaded server slows the schedule instead of piling up.
  const interval = (1000 * PER_REQUEST) / config.soakRate;
  const inFlight = new Set();
  const startedAt = performance.now();
  for (let i = 0; Date.now() < end; i++) {
    const wait = startedAt + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight.size >= 64) await Promise.race(inFlight);
    mirror();
    const p = api.call("POST", `/v1/topics/${topic}/messages`, body).then(
      () => void (produced += PER_REQUEST),
      () => void errors++,
    );
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }
  await Promise.all([...inFlight, ...mirrored, sampler, ...consumers]);

  const minute = (from, of) => summarize(samples.filter((s) => s.second >= from && s.second < from + 60).map(of)).median;
  const lastFrom = Math.max(60, seconds - 60);
  const second = minute(60, (s) => s.rssMiB);
  const last = minute(lastFrom, (s) => s.rssMiB);
  const growth = (last - second) / second;
  // Weir's own share: its RSS less the ceiling's, which served as many requests.
  const ownSecond = minute(60, (s) => s.rssMiB - s.ceilingMiB);
  const ownLast = minute(lastFrom, (s) => s.rssMiB - s.ceilingMiB);
  const ceilingGrowth = (minute(lastFrom, (s) => s.ceilingMiB) - minute(60, (s) => s.ceilingMiB)) / minute(60, (s) => s.ceilingMiB);
  const ownGrowth = (ownLast - ownSecond) / ownSecond;
  // A run of 15 minutes or more is also judged after its first ten, when the runtime's own
  // caches have filled (docs/performance.md, "Memory").
  const settled = seconds >= 900 ? minute(600, (s) => s.rssMiB) : null;
  const settledGrowth = settled === null ? null : (last - settled) / settled;
  const result = {
    seconds, rate: config.soakRate, retentionSeconds: config.soakRetentionSeconds, bodyBytes: BODY_BYTES, produced, consumed, errors, requests, samples,
    secondMinuteMedianMiB: second, lastMinuteMedianMiB: last, growth, flat: growth <= SOAK_MEMORY_GROWTH,
    settledMinuteMiB: settled, settledGrowth, settledFlat: settledGrowth === null ? null : settledGrowth <= SOAK_MEMORY_GROWTH,
    ceilingGrowth, ownSecondMinuteMiB: ownSecond, ownLastMinuteMiB: ownLast, ownGrowth, ownFlat: ownGrowth <= SOAK_MEMORY_GROWTH,
  };
  console.log(
    `\nWeir soak: ${seconds} s at ${config.soakRate} msg/s (batches of ${PER_REQUEST}), 4 partitions, ${CONSUMERS} consumers, ` +
      `retention ${config.soakRetentionSeconds} s`,
  );
  console.log(`produced ${produced} (${(produced / seconds).toFixed(0)} msg/s), acked ${consumed}, failed requests ${errors}`);
  console.log(`requests to Weir (each mirrored to the ceiling's no-op object): ${requests}`);
  console.log(`workerd RSS (MiB) every ${SAMPLE_EVERY_MS / 1000} s: ${samples.map((s) => s.rssMiB.toFixed(0)).join(", ")}`);
  console.log(`ceiling RSS (MiB), same times:     ${samples.map((s) => s.ceilingMiB.toFixed(0)).join(", ")}`);
  if (seconds >= 120) {
    console.log(
      `second minute median ${second.toFixed(1)} MiB, last minute ${last.toFixed(1)} MiB: ${(growth * 100).toFixed(1)}% — ` +
        `${result.flat ? "PASS" : "FAIL"} (flat: ≤ ${(SOAK_MEMORY_GROWTH * 100).toFixed(0)}% growth)`,
    );
    console.log(`the ceiling Worker grew ${(ceilingGrowth * 100).toFixed(1)}% over the same minutes`);
    if (settled !== null) {
      console.log(
        `after ten minutes: minute 11 median ${settled.toFixed(1)} MiB, last minute ${last.toFixed(1)} MiB: ` +
          `${(settledGrowth * 100).toFixed(1)}% — ${result.settledFlat ? "PASS" : "FAIL"}`,
      );
    }
    console.log(
      `Weir's own share (its RSS less the ceiling's): second minute ${ownSecond.toFixed(1)} MiB, last minute ${ownLast.toFixed(1)} MiB: ` +
        `${(ownGrowth * 100).toFixed(1)}% — ${result.ownFlat ? "PASS" : "FAIL"}`,
    );
  } else {
    console.log("(shorter than 2 minutes: no flatness verdict)");
  }
  return result;
}
