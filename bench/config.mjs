// Sizes of a bench run. The defaults finish in under 5 minutes on a 2-core machine; `--quick`
// is a smoke run of the same cases in well under a minute; environment variables override both.
const args = process.argv.slice(2);
export const QUICK = args.includes("--quick");
export const SOAK = args.includes("--soak");
/** --trace: only the trace on/off comparison (bench/cases/trace.mjs). */
export const TRACE_ONLY = args.includes("--trace");

const knob = (name, normal, quick) => {
  const value = Number(process.env[name] ?? (QUICK ? quick : normal));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return value;
};

export const config = {
  /** Recorded runs per figure (each after one warm-up run); the table shows their median. */
  runs: knob("BENCH_RUNS", 3, 1),
  /** Messages per run of the batched produce and receive+ack cases. */
  messages: knob("BENCH_MESSAGES", 20_000, 2_000),
  /** Requests per run of the single-message and ceiling throughput cases. */
  requests: knob("BENCH_REQUESTS", 1_000, 200),
  /** Requests per run of the one-at-a-time latency cases. */
  latencyRequests: knob("BENCH_LATENCY_REQUESTS", 300, 50),
  /** Seconds per run of the produce-to-delivery case (at LATENCY_RATE msg/s). */
  latencySeconds: knob("BENCH_LATENCY_SECONDS", 5, 2),
  /** How long the idle long-poll consumers wait, and how long each of their polls is. */
  idleSeconds: knob("BENCH_IDLE_SECONDS", 60, 20),
  idleWaitSeconds: knob("BENCH_IDLE_WAIT_SECONDS", 20, 10),
  /** --soak: duration and produce rate. */
  soakSeconds: knob("BENCH_SOAK_SECONDS", 300, 30),
  soakRate: knob("BENCH_SOAK_RATE", 500, 500),
  /** --soak: the topic's retention; the default (4 days) keeps every message of the run. */
  soakRetentionSeconds: knob("BENCH_SOAK_RETENTION_SECONDS", 4 * 24 * 3600, 4 * 24 * 3600),
};

/** Fixed by the definition of each case, not knobs. */
export const BODY_BYTES = 256;
export const CONCURRENCY = 8;
export const BATCH = 100;
export const LATENCY_RATE = 200;
/** A warm-up run is this fraction of a recorded run: enough to compile paths and create objects. */
export const WARMUP_FRACTION = 0.25;

/** A JSON string of exactly BODY_BYTES bytes. */
export const payload = "x".repeat(BODY_BYTES - 2);

/** A produce request body of `n` 256-byte messages, serialized once and reused. */
export function produceBody(n) {
  return JSON.stringify({ messages: Array.from({ length: n }, () => ({ body: payload })) });
}
