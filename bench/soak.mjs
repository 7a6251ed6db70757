// `npm run bench -- --soak`: config.soakSeconds (300) of steady traffic at config.soakRate
// (500) msg/s — batches of 10 produced on a fixed schedule, two consumers receiving and acking
// — while the RSS of Weir's workerd process is sampled every 10 s. Memory is flat when the last
// minute's median is within SOAK_MEMORY_GROWTH of the second minute's (the first minute warms up).
import { BODY_BYTES, config, payload } from "./config.mjs";
import { sleep } from "./measure.mjs";
import { workerdRssMiB } from "../scripts/local-server.mjs";
import { summarize } from "./stats.mjs";
import { SOAK_MEMORY_GROWTH } from "./targets.mjs";

const PER_REQUEST = 10;
const SAMPLE_EVERY_MS = 10_000;
const CONSUMERS = 2;

export async function runSoak(api, weir, progress) {
  const topic = `soak-${Date.now().toString(36)}`;
  await api.createTopic(topic, 4);
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
      samples.push({ second: i * (SAMPLE_EVERY_MS / 1000), rssMiB: workerdRssMiB(weir.pid) });
      if (i % 6 === 0) progress(`soak: ${produced} produced, ${consumed} acked, workerd ${samples.at(-1).rssMiB.toFixed(0)} MiB`);
      await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, end - Date.now())));
    }
  })();
  const consumers = Array.from({ length: CONSUMERS }, async () => {
    while (Date.now() < end) {
      try {
        const { messages } = await api.receive(topic, "s", { max_messages: 100, wait_seconds: 1 });
        if (messages.length > 0) await api.ack(topic, "s", messages.map((m) => m.receipt));
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
    const p = api.call("POST", `/v1/topics/${topic}/messages`, body).then(
      () => void (produced += PER_REQUEST),
      () => void errors++,
    );
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }
  await Promise.all([...inFlight, sampler, ...consumers]);

  const minute = (from) => summarize(samples.filter((s) => s.second >= from && s.second < from + 60).map((s) => s.rssMiB)).median;
  const second = minute(60);
  const last = minute(Math.max(60, seconds - 60));
  const growth = (last - second) / second;
  const result = {
    seconds, rate: config.soakRate, bodyBytes: BODY_BYTES, produced, consumed, errors, samples,
    secondMinuteMedianMiB: second, lastMinuteMedianMiB: last, growth, flat: growth <= SOAK_MEMORY_GROWTH,
  };
  console.log(`\nWeir soak: ${seconds} s at ${config.soakRate} msg/s (batches of ${PER_REQUEST}), 4 partitions, ${CONSUMERS} consumers`);
  console.log(`produced ${produced} (${(produced / seconds).toFixed(0)} msg/s), acked ${consumed}, failed requests ${errors}`);
  console.log(`workerd RSS (MiB) every ${SAMPLE_EVERY_MS / 1000} s: ${samples.map((s) => s.rssMiB.toFixed(0)).join(", ")}`);
  if (seconds >= 120) {
    console.log(
      `second minute median ${second.toFixed(1)} MiB, last minute ${last.toFixed(1)} MiB: ${(growth * 100).toFixed(1)}% — ` +
        `${result.flat ? "PASS" : "FAIL"} (flat: ≤ ${(SOAK_MEMORY_GROWTH * 100).toFixed(0)}% growth)`,
    );
  } else {
    console.log("(shorter than 2 minutes: no flatness verdict)");
  }
  return result;
}
