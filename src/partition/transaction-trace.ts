import type { MessageTrace, TraceEvent } from "../shared/partition-api";

// A transaction's messages in their trace (SPEC "Observability": prepared, committed,
// rolled_back). What it keeps (schema step 6), and what that costs:
// - a committed share: the offsets its one append gave it, two columns of the share row that the
//   commit writes anyway, and one entry of the index on them — one row per partition of the
//   transaction, never one per message;
// - a rolled-back share: its messages, moved from txn_messages to txn_rolled_back (a row and an
//   index entry per message, on the rollback path only), forgotten with the share (the
//   topic's retention after the decision: Transactions.forgetResolved);
// - a prepared message: nothing; it is found in txn_messages, which has no index on the id, so a
//   trace that misses the log reads this partition's prepared messages (those of its open
//   transactions) once.
const TRANSACTION_TRACE_SQL = {
  // The committed share with the last range starting at or before an offset: the only one that
  // can hold it (ranges never overlap), read as one index entry; the caller checks last_offset.
  shareBeforeOffset: `
    SELECT txn, prepared_at, resolved_at, last_offset FROM txn_shares
    WHERE first_offset <= ? ORDER BY first_offset DESC LIMIT 1`,
  prepared: `
    SELECT m.txn, m.id, m.key, m.headers, m.body, s.prepared_at, NULL AS resolved_at
    FROM txn_messages m JOIN txn_shares s ON s.txn = m.txn
    WHERE m.id = ? AND s.state = 'prepared' ORDER BY s.prepared_at DESC LIMIT 1`,
  rolledBack: `
    SELECT r.txn, r.id, r.key, r.headers, r.body, s.prepared_at, s.resolved_at
    FROM txn_rolled_back r JOIN txn_shares s ON s.txn = r.txn
    WHERE r.id = ? ORDER BY s.resolved_at DESC LIMIT 1`,
  // Only on the transaction's home partition: why it was rolled back.
  reason: "SELECT reason FROM transactions WHERE id = ?",
  keepRolledBack: `
    INSERT INTO txn_rolled_back (txn, seq, id, key, headers, body)
    SELECT txn, seq, id, key, headers, body FROM txn_messages WHERE txn = ?`,
  // Before the shares themselves are forgotten (same cut-off as TRANSACTION_SQL.sharesForget).
  forgetRolledBack: `
    DELETE FROM txn_rolled_back WHERE txn IN (
      SELECT txn FROM txn_shares WHERE resolved_at IS NOT NULL AND resolved_at < ? AND state = 'rolled_back')`,
} as const;

type MessageRow = {
  txn: string;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  prepared_at: number;
  resolved_at: number | null;
};

/** The trace side of Transactions: what a share keeps for it, and the events it adds. */
export class TransactionTrace {
  /**
   * @param enabled false only for the benchmark's baseline (WEIR_TRACE=off): rolled-back messages
   * are not kept. (A commit's offsets are written either way: they ride on the share's update.)
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly enabled: boolean,
  ) {}

  /**
   * The offsets a commit appended here, for the share's resolving update (first, last; null, null
   * when it appended none). One append is gap-free, so they are a range.
   */
  static committedRange(offsets: readonly number[]): [number | null, number | null] {
    return offsets.length === 0 ? [null, null] : [Math.min(...offsets), Math.max(...offsets)];
  }

  /** A share is rolled back: keep its messages for their trace. Call before they are deleted, inside the transaction. */
  rolledBack(txn: string): void {
    if (this.enabled) this.sql.exec(TRANSACTION_TRACE_SQL.keepRolledBack, txn);
  }

  /** Forgets the rolled-back messages of shares resolved before `before` (ms since epoch). */
  forget(before: number): void {
    this.sql.exec(TRANSACTION_TRACE_SQL.forgetRolledBack, before);
  }

  /**
   * Completes `logged` (the log's trace of `id` here, or null) with what transactions know: a
   * logged message a commit appended gets `prepared` and `committed` in place of `produced`;
   * an id the log does not have is looked for among the prepared messages, then the rolled-back
   * ones (state `prepared` or `rolled_back`, no offset, no subscription state). Null: none here.
   */
  traceOf(id: string, logged: MessageTrace | null): MessageTrace | null {
    if (logged) return logged.offset === null ? logged : this.withCommit(logged, logged.offset);
    const prepared = this.sql.exec<MessageRow>(TRANSACTION_TRACE_SQL.prepared, id).toArray()[0];
    if (prepared) return this.unlogged(prepared, "prepared");
    const rolledBack = this.sql.exec<MessageRow>(TRANSACTION_TRACE_SQL.rolledBack, id).toArray()[0];
    return rolledBack ? this.unlogged(rolledBack, "rolled_back") : null;
  }

  private withCommit(logged: MessageTrace, offset: number): MessageTrace {
    const share = this.sql
      .exec<{ txn: string; prepared_at: number; resolved_at: number; last_offset: number }>(TRANSACTION_TRACE_SQL.shareBeforeOffset, offset)
      .toArray()[0];
    if (!share || share.last_offset < offset) return logged;
    const detail = { transaction: share.txn };
    const decided: TraceEvent[] = [
      { at: share.prepared_at, event: "prepared", subscriptionUid: null, attempt: null, detail },
      { at: share.resolved_at, event: "committed", subscriptionUid: null, attempt: null, detail },
    ];
    // The commit is when the message was appended: `produced` says the same thing again.
    const events = logged.events.flatMap((e) => (e.event === "produced" && e.subscriptionUid === null ? decided : [e]));
    return { ...logged, events, transactionId: share.txn };
  }

  private unlogged(row: MessageRow, state: "prepared" | "rolled_back"): MessageTrace {
    const events: TraceEvent[] = [{ at: row.prepared_at, event: "prepared", subscriptionUid: null, attempt: null, detail: { transaction: row.txn } }];
    if (state === "rolled_back") {
      const reason = this.sql.exec<{ reason: string | null }>(TRANSACTION_TRACE_SQL.reason, row.txn).toArray()[0]?.reason ?? null;
      events.push({
        at: row.resolved_at,
        event: "rolled_back",
        subscriptionUid: null,
        attempt: null,
        detail: reason === null ? { transaction: row.txn } : { transaction: row.txn, reason },
      });
    }
    return {
      offset: null,
      id: row.id,
      key: row.key,
      headers: row.headers,
      body: row.body,
      producedAt: row.prepared_at,
      state,
      subscriptions: [],
      events,
      transactionId: row.txn,
    };
  }
}
