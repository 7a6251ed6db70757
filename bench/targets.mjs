// The per-figure targets of issue 8, as numbers. Each says what it compares and why the
// slack, if any, is there. The report prints them beside the figures with a pass/fail mark.

/** Batched produce to one partition: at least this fraction of the "object inserts 100 rows" ceiling. */
export const BATCH_PRODUCE_OF_INSERT_CEILING = 0.5;
/** Single-message produce: at least this fraction of the "object inserts 1 row" ceiling. */
export const SINGLE_PRODUCE_OF_INSERT_CEILING = 0.8;
/**
 * "4 partitions no slower than 1": medians taken back to back move by up to a third between
 * runs, so 4 partitions pass at 90% of one partition's median or better.
 */
export const FOUR_PARTITIONS_OF_ONE = 0.9;
/** Receive + ack with batches of 100, msg/s, on one partition and (no less) on four. */
export const RECEIVE_ACK_MSGS_PER_SECOND = 15_000;
/** Produce-to-delivery p50 and p99 within this multiple of the no-op Worker round trip's. */
export const LATENCY_OF_NOOP_ROUND_TRIP = 2;
/** --soak: the last minute's workerd RSS may exceed the second minute's by at most this fraction. */
export const SOAK_MEMORY_GROWTH = 0.1;
/** Issue 13: rows written per message, produce through retention, one shared subscription. */
export const ROWS_WRITTEN_END_TO_END = 1.0;
export const ROWS_WRITTEN_GOAL = 0.3;
/** Issue 13: what each further subscription may add, rows written per message. */
export const ROWS_PER_EXTRA_SUBSCRIPTION = 0.2;
/**
 * Issue 13: receive + ack with batches of 100 on one partition, msg/s: twice the job table's
 * (17,410 msg/s, `BENCH_RUNS=1 npm run bench` on 2026-11-30 at 993c19a, the machine quiet).
 */
export const RECEIVE_ACK_OF_JOB_TABLE = 2 * 17_410;
/** Issue 13: batched produce to one partition against "object takes 100 × 256 B, no SQL". */
export const BATCH_PRODUCE_OF_NO_SQL_CEILING = 0.6;
/** Issue 19: 8 competing consumers, produce → delivery p50 within this multiple of the paced one-row insert's p50. */
export const COMPETING_P50_OF_FLOOR = 2;
/** Issue 19: and p99 within this multiple of the paced one-row insert's p99. */
export const COMPETING_P99_OF_FLOOR = 4;
/** Issue 19: workerd CPU per delivered message within this multiple of the runtime's CPU per no-op request. */
export const CPU_PER_MESSAGE_OF_NOOP = 2;
/** Issue 19: single-message produce with 64 in flight against "Worker → no-op object" at 64. */
export const IN_FLIGHT_PRODUCE_OF_OBJECT_NOOP = 0.85;
