// Where a shared subscription stands in the log (docs/storage.md, "The segment model"):
// its cursor — every message at or past `read_to` that has no row of its own is new — and its
// runs: one row per lease of new messages, holding the offsets still leased. A batch leased
// and acked whole costs one run row written and deleted, whatever its size.

/** A lease of new messages: attempt 1 each, one nonce, one lease end. */
export interface Run {
  first: number;
  last: number;
  dueAt: number;
  nonce: string;
  leasedAt: number;
  /** The offsets the run still leases (not acked, not released), ascending. */
  held: number[];
}

const RUN_SQL = {
  cursorGet: "SELECT read_to FROM cursors WHERE sub = ?",
  cursorSet: "INSERT OR REPLACE INTO cursors (sub, read_to) VALUES (?, ?)",
  cursorDelete: "DELETE FROM cursors WHERE sub = ?",
  of: "SELECT first, last, due_at, nonce, leased_at, held FROM runs WHERE sub = ? ORDER BY first",
  overlapping: "SELECT first, last, due_at, nonce, leased_at, held FROM runs WHERE sub = ?1 AND first <= ?3 AND last >= ?2 ORDER BY first",
  insert: "INSERT INTO runs (sub, first, last, due_at, nonce, leased_at, held) VALUES (?, ?, ?, ?, ?, ?, ?)",
  setHeld: "UPDATE runs SET held = ? WHERE sub = ? AND first = ?",
  setDue: "UPDATE runs SET due_at = ? WHERE sub = ? AND first = ?",
  delete: "DELETE FROM runs WHERE sub = ? AND first = ?",
  deleteAll: "DELETE FROM runs WHERE sub = ?",
  due: "SELECT sub, first, last, due_at, nonce, leased_at, held FROM runs WHERE due_at <= ? LIMIT ?",
  nextDue: "SELECT MIN(due_at) AS due FROM runs",
  heldIn: "SELECT sub, held FROM runs WHERE first <= ? AND last >= ?",
  historyInsert: "INSERT OR REPLACE INTO run_history (sub, first, last, leased_at, acked_at) VALUES (?, ?, ?, ?, ?)",
  // The one run that began at or before the offset (runs never overlap): its range is checked in code.
  historyOf: "SELECT last, leased_at, acked_at FROM run_history WHERE sub = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1",
  historyForget: "DELETE FROM run_history WHERE sub = ? AND first >= ? AND first <= ?",
  historyForgetAll: "DELETE FROM run_history WHERE sub = ?",
} as const;

type RunRow = { sub?: string; first: number; last: number; due_at: number; nonce: string; leased_at: number; held: string };

function toRun(r: RunRow): Run {
  return { first: r.first, last: r.last, dueAt: r.due_at, nonce: r.nonce, leasedAt: r.leased_at, held: JSON.parse(r.held) as number[] };
}

export class Runs {
  /** Cursors read once per subscription and then kept: this object is their only writer. */
  private readonly cursors = new Map<string, number>();

  /** @param history false only for the benchmark's trace-off baseline (WEIR_TRACE=off). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly history: boolean = true,
  ) {}

  /** After a failed transaction: read the cursors from storage again. */
  forget(): void {
    this.cursors.clear();
  }

  cursor(uid: string): number {
    let readTo = this.cursors.get(uid);
    if (readTo === undefined) {
      readTo = this.sql.exec<{ read_to: number }>(RUN_SQL.cursorGet, uid).toArray()[0]?.read_to ?? 0;
      this.cursors.set(uid, readTo);
    }
    return readTo;
  }

  setCursor(uid: string, readTo: number): void {
    if (this.cursors.get(uid) === readTo) return;
    this.sql.exec(RUN_SQL.cursorSet, uid, readTo);
    this.cursors.set(uid, readTo);
  }

  /** Forgets the subscription's cursor and runs. */
  drop(uid: string): void {
    this.sql.exec(RUN_SQL.cursorDelete, uid);
    this.sql.exec(RUN_SQL.deleteAll, uid);
    this.sql.exec(RUN_SQL.historyForgetAll, uid);
    this.cursors.delete(uid);
  }

  deleteRuns(uid: string): void {
    this.sql.exec(RUN_SQL.deleteAll, uid);
  }

  of(uid: string): Run[] {
    return this.sql.exec<RunRow>(RUN_SQL.of, uid).toArray().map(toRun);
  }

  /** The runs of `uid` that may hold an offset in [from, to]. */
  overlapping(uid: string, from: number, to: number): Run[] {
    return this.sql.exec<RunRow>(RUN_SQL.overlapping, uid, from, to).toArray().map(toRun);
  }

  insert(uid: string, run: Run): void {
    this.sql.exec(RUN_SQL.insert, uid, run.first, run.last, run.dueAt, run.nonce, run.leasedAt, JSON.stringify(run.held));
  }

  /**
   * Stores what `run` still holds: its row goes once it holds nothing. `ackedAt`: the last of
   * it was acked then (not released): the run's times are kept for the trace (run_history).
   */
  setHeld(uid: string, run: Run, held: number[], ackedAt: number | null = null): void {
    run.held = held;
    if (held.length > 0) {
      this.sql.exec(RUN_SQL.setHeld, JSON.stringify(held), uid, run.first);
      return;
    }
    this.sql.exec(RUN_SQL.delete, uid, run.first);
    if (ackedAt !== null && this.history) this.sql.exec(RUN_SQL.historyInsert, uid, run.first, run.last, run.leasedAt, ackedAt);
  }

  /** When the run that leased `offset` (acked whole since) was leased and acked; null if unknown. */
  historyOf(uid: string, offset: number): { leasedAt: number; ackedAt: number } | null {
    const row = this.sql.exec<{ last: number; leased_at: number; acked_at: number }>(RUN_SQL.historyOf, uid, offset).toArray()[0];
    return row && row.last >= offset ? { leasedAt: row.leased_at, ackedAt: row.acked_at } : null;
  }

  /** Retention deleted the messages [first, last]: the history of runs that began there goes. */
  forgetHistory(uid: string, first: number, last: number): void {
    this.sql.exec(RUN_SQL.historyForget, uid, first, last);
  }

  setDue(uid: string, run: Run, dueAt: number): void {
    run.dueAt = dueAt;
    this.sql.exec(RUN_SQL.setDue, dueAt, uid, run.first);
  }

  /** Runs whose lease ended by `now`, at most `limit`. */
  due(now: number, limit: number): { uid: string; run: Run }[] {
    return this.sql
      .exec<RunRow>(RUN_SQL.due, now, limit)
      .toArray()
      .map((r) => ({ uid: r.sub!, run: toRun(r) }));
  }

  nextDue(): number | null {
    return this.sql.exec<{ due: number | null }>(RUN_SQL.nextDue).one().due;
  }

  /** Whether some run still leases a message in [first, last]. */
  holdsAny(first: number, last: number): boolean {
    for (const row of this.sql.exec<{ sub: string; held: string }>(RUN_SQL.heldIn, last, first)) {
      if ((JSON.parse(row.held) as number[]).some((o) => o >= first && o <= last)) return true;
    }
    return false;
  }
}
