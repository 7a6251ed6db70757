import type { CounterName, CounterValue } from "../shared/partition-api";

// The counters table (schema step 3) and its SQL, kept apart from the log so that the log's
// storage can change without touching them. Every `add` runs inside the caller's transaction.
const COUNTER_SQL = {
  add: `
    INSERT INTO counters (sub, name, reason, value) VALUES (?, ?, ?, ?)
    ON CONFLICT (sub, name, reason) DO UPDATE SET value = value + excluded.value`,
  all: "SELECT sub, name, reason, value FROM counters",
  forget: "DELETE FROM counters WHERE sub = ?",
} as const;

/**
 * Monotonic totals for /metrics: one row per (subscription, name, reason), added to in the same
 * transaction as the change it counts, so a restart neither loses nor repeats a count. Empty
 * leases write nothing of their own (an idle consumer must stay free): they are counted in
 * memory and folded into the next write, or into the next stats call.
 */
export class Counters {
  private readonly pendingEmpty = new Map<string, number>();

  /**
   * @param enabled false only for the benchmark's baseline (WEIR_TRACE=off): nothing is counted.
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly enabled = true,
  ) {}

  /** Adds `n` (> 0) to a counter. Call inside the transaction of the change it counts. */
  add(sub: string, name: CounterName, n: number, reason = ""): void {
    if (n <= 0 || !this.enabled) return;
    this.sql.exec(COUNTER_SQL.add, sub, name, reason, n);
    this.flushEmpty();
  }

  /** A lease of `sub` found nothing: counted in memory until the next write. */
  noteEmptyLease(sub: string): void {
    if (!this.enabled) return;
    this.pendingEmpty.set(sub, (this.pendingEmpty.get(sub) ?? 0) + 1);
  }

  /** Writes the empty leases counted in memory (one row per subscription). */
  flushEmpty(): void {
    if (this.pendingEmpty.size === 0) return;
    const pending = [...this.pendingEmpty];
    this.pendingEmpty.clear();
    for (const [sub, n] of pending) this.sql.exec(COUNTER_SQL.add, sub, "empty_leases", "", n);
  }

  /** Drops a forgotten subscription's counters (its series end). */
  forget(sub: string): void {
    this.pendingEmpty.delete(sub);
    this.sql.exec(COUNTER_SQL.forget, sub);
  }

  /** Every counter, with the empty leases not yet written added in. */
  all(): CounterValue[] {
    this.flushEmpty();
    return this.sql.exec<{ sub: string; name: string; reason: string; value: number }>(COUNTER_SQL.all).toArray().map((row) => ({
      sub: row.sub,
      name: row.name as CounterName,
      reason: row.reason,
      value: row.value,
    }));
  }
}
