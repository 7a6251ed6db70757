import type {
  Appended,
  DecisionAnswer,
  NewMessage,
  PrepareOutcome,
  TransactionDecision,
  TransactionOpen,
  TransactionReason,
  TransactionShare,
  TransactionState,
  TransactionView,
} from "../shared/partition-api";
import type { Clock } from "../shared/clock";
import { TRANSACTION_ASK_GRACE_MS, TRANSACTION_RETELL_MS } from "../shared/limits";
import type { PartitionLog } from "./log";
import { TRANSACTION_SQL as SQL } from "./statements";
import { TransactionTrace } from "./transaction-trace";

// Transactions on the partition side: the shares of transactions prepared here, and the records
// (the decisions) of the transactions whose home is this partition. Every method is one
// synchronous transaction. docs/transactions.md tells the whole story.

type RecordRow = {
  id: string;
  state: TransactionState;
  reason: TransactionReason | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  check_url: string | null;
  max_checks: number;
  interval_ms: number;
  checks: number;
  due_at: number;
  messages: string;
  pending: string;
  results: string;
};

type ShareRow = {
  txn: string;
  home: number;
  state: TransactionState;
  prepared_at: number;
  results: string | null;
};

type MessageRow = {
  id: string;
  id_from_producer: number;
  key: string | null;
  headers: string | null;
  body: string;
  priority: number;
  deliver_at: number;
  ttl_ms: number | null;
  dup_offset: number | null;
  dup_produced_at: number | null;
};

type StoredResult = [offset: number, producedAt: number, duplicate: 0 | 1];

/** What a home partition's record says about who still has to hear of its decision. */
export interface Progress {
  view: TransactionView;
  /** The transaction's message ids, in request order (for check-backs). */
  messageIds: string[];
  /** Participants other than this partition that have not applied the decision. */
  pending: number[];
  /** Per message, in request order, once every participant applied a commit; else null. */
  results: (Appended & { id: string; partition: number })[] | null;
}

export type DecideResult =
  /** fresh: this call made the decision (false: it repeats one already made). */
  | { ok: true; progress: Progress; appendedHere: NewMessage[]; fresh: boolean }
  | { ok: false; code: "transaction_not_found" }
  | { ok: false; code: "transaction_committed" | "transaction_rolled_back"; view: TransactionView };

/** Transactions on one partition. Times are milliseconds since the epoch, from the clock. */
export class Transactions {
  /** What the message trace learns of transactions (transaction-trace.ts). */
  readonly trace: TransactionTrace;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: Clock,
    private readonly log: PartitionLog,
  ) {
    this.trace = new TransactionTrace(storage.sql, log.trace.enabled);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /**
   * Stores this partition's share of a transaction, and on the home partition (`open` given)
   * the transaction's record, in one transaction. A message whose producer id is already in
   * the log within the dedup window is kept as a duplicate of that copy. Refused, with nothing
   * stored: `transaction_resolved` (a decision for this id is already here), `topic_full`,
   * `too_many_transactions` (the home holds `maxOpen` open records).
   */
  prepare(share: TransactionShare, open: TransactionOpen | null, maxOpen: number): PrepareOutcome {
    return this.storage.transactionSync((): PrepareOutcome => {
      if (this.share(share.id) || (open && this.record(open.id))) return { ok: false, code: "transaction_resolved" };
      if (open && this.sql.exec<{ n: number }>(SQL.recordsOpen).one().n >= maxOpen) {
        return { ok: false, code: "too_many_transactions", limit: maxOpen };
      }
      if (share.messages.length > 0) {
        const full = this.log.overflowProblem(share.messages);
        if (full) return { ok: false, code: "topic_full", message: full };
      }
      const here = this.log.partitionIndex();
      const askAt = share.home === here ? 0 : share.expiresAt + TRANSACTION_ASK_GRACE_MS;
      this.sql.exec(SQL.shareInsert, share.id, share.home, share.preparedAt, askAt);
      const windowStart = share.preparedAt - this.log.policy().dedupWindowMs;
      share.messages.forEach((m, seq) => {
        const dup = m.idFromProducer ? this.log.findDuplicate(m.id, windowStart) : null;
        this.sql.exec(
          SQL.messageInsert,
          share.id,
          seq,
          m.id,
          m.idFromProducer ? 1 : 0,
          m.key,
          m.headers,
          m.body,
          m.priority,
          m.delayMs > 0 ? share.preparedAt + m.delayMs : 0,
          m.ttlMs,
          dup?.offset ?? null,
          dup?.producedAt ?? null,
        );
      });
      if (open) {
        this.sql.exec(
          SQL.recordInsert,
          open.id,
          open.createdAt,
          open.expiresAt,
          open.check?.url ?? null,
          open.check?.maxChecks ?? 0,
          open.check?.intervalMs ?? 0,
          open.expiresAt,
          JSON.stringify(open.messages),
          JSON.stringify(open.participants),
        );
      }
      return { ok: true };
    });
  }

  /**
   * Applies a decision to this partition's share, in one transaction: committed messages are
   * appended to the log through the log's own append path (dedup from prepare, priority,
   * delay, TTL from now, offsets in commit order); rolled-back ones are deleted. Idempotent:
   * a share already applied answers what it answered then. A decision for a share that never
   * came here is kept, so that a late prepare of it is refused.
   */
  applyShare(id: string, decision: TransactionDecision): { results: Appended[]; appended: NewMessage[] } {
    try {
      return this.storage.transactionSync(() => this.applyInTransaction(id, decision));
    } catch (error) {
      this.log.forgetCounters();
      throw error;
    }
  }

  /** `appended`: the messages this call stored in the log (none for a rollback or a repeat). */
  private applyInTransaction(id: string, decision: TransactionDecision): { results: Appended[]; appended: NewMessage[] } {
    const now = this.clock.now();
    const share = this.share(id);
    if (!share) {
      this.sql.exec(SQL.shareTombstone, id, decision, now, "[]", now);
      return { results: [], appended: [] };
    }
    if (share.state !== "prepared") {
      if (share.state !== decision) {
        console.error(JSON.stringify({ event: "transaction_decision_conflict", transaction: id, applied: share.state, asked: decision }));
      }
      return { results: parseResults(share.results), appended: [] };
    }
    let results: Appended[] = [];
    let appended: NewMessage[] = [];
    // The offsets this commit appended, kept on the share for the trace.
    let range = TransactionTrace.committedRange([]);
    if (decision === "committed") {
      const rows = this.sql.exec<MessageRow>(SQL.messagesOf, id).toArray();
      const windowStart = share.prepared_at - this.log.policy().dedupWindowMs;
      const fresh: NewMessage[] = [];
      const slots: (Appended | number)[] = rows.map((row) => {
        let dup: { offset: number; producedAt: number } | null =
          row.dup_offset === null ? null : { offset: row.dup_offset, producedAt: row.dup_produced_at ?? now };
        // Deduplication counts from prepare: a copy stored since then, within the window, wins.
        if (!dup && row.id_from_producer === 1) dup = this.log.findDuplicate(row.id, windowStart);
        if (dup) return { offset: dup.offset, producedAt: dup.producedAt, duplicate: true };
        fresh.push({
          id: row.id,
          idFromProducer: row.id_from_producer === 1,
          key: row.key,
          headers: row.headers,
          body: row.body,
          priority: row.priority,
          delayMs: row.deliver_at > now ? row.deliver_at - now : 0,
          ttlMs: row.ttl_ms,
        });
        return fresh.length - 1;
      });
      const stored = fresh.length > 0 ? this.log.appendCommitted(fresh) : [];
      appended = fresh.filter((_, i) => !stored[i]!.duplicate);
      range = TransactionTrace.committedRange(stored.filter((r) => !r.duplicate).map((r) => r.offset));
      results = slots.map((slot) => (typeof slot === "number" ? stored[slot]! : slot));
    } else {
      this.trace.rolledBack(id);
    }
    this.sql.exec(SQL.messagesDelete, id);
    this.sql.exec(SQL.shareResolve, decision, JSON.stringify(results.map(encodeResult)), now, ...range, id);
    return { results, appended };
  }

  /** The record of a transaction whose home is here, as the API shows it; null if unknown. */
  view(id: string): TransactionView | null {
    const row = this.record(id);
    return row ? viewOf(row) : null;
  }

  /** The record and who still has to apply its decision; null if unknown. */
  progress(id: string): Progress | null {
    const row = this.record(id);
    return row ? this.progressOf(row) : null;
  }

  /**
   * Records the decision on the home partition — the one place it is kept — and, in the same
   * transaction, applies it to the share here. Repeating the same decision answers ok;
   * the other decision after one is refused (`transaction_committed`, `transaction_rolled_back`).
   */
  decide(id: string, decision: TransactionDecision, reason: TransactionReason | null): DecideResult {
    try {
      return this.storage.transactionSync((): DecideResult => {
        const row = this.record(id);
        if (!row) return { ok: false, code: "transaction_not_found" };
        if (row.state !== "prepared") {
          if (row.state === decision) return { ok: true, progress: this.progressOf(row), appendedHere: [], fresh: false };
          const code = row.state === "committed" ? "transaction_committed" : "transaction_rolled_back";
          return { ok: false, code, view: viewOf(row) };
        }
        const now = this.clock.now();
        const here = this.log.partitionIndex();
        const pending = (JSON.parse(row.pending) as number[]).filter((p) => p !== here);
        // The caller tells the participants at once; should it fail or crash, the alarm does.
        const dueAt = pending.length > 0 ? now + TRANSACTION_RETELL_MS : 0;
        this.sql.exec(SQL.recordDecide, decision, decision === "rolled_back" ? reason : null, now, dueAt, id);
        let appendedHere: NewMessage[] = [];
        const results = JSON.parse(row.results) as Record<string, StoredResult[]>;
        if (this.share(id)?.home === here) {
          const applied = this.applyInTransaction(id, decision);
          appendedHere = applied.appended;
          if (decision === "committed") results[here] = applied.results.map(encodeResult);
        }
        this.sql.exec(SQL.recordProgress, JSON.stringify(pending), JSON.stringify(results), dueAt, id);
        return { ok: true, progress: this.progressOf(this.record(id)!), appendedHere, fresh: true };
      });
    } catch (error) {
      this.log.forgetCounters();
      throw error;
    }
  }

  /** A participant applied the decision (with these results, for a commit). */
  applied(id: string, partition: number, results: Appended[]): void {
    this.storage.transactionSync(() => {
      const row = this.record(id);
      if (!row) return;
      const pending = (JSON.parse(row.pending) as number[]).filter((p) => p !== partition);
      const stored = JSON.parse(row.results) as Record<string, StoredResult[]>;
      if (row.state === "committed") stored[partition] = results.map(encodeResult);
      this.sql.exec(SQL.recordProgress, JSON.stringify(pending), JSON.stringify(stored), pending.length > 0 ? row.due_at : 0, id);
    });
  }

  /** Try again to tell the participants of the decision at `at`. */
  retryAt(id: string, at: number): void {
    this.sql.exec(SQL.recordDueAt, at, id);
  }

  /** Records due for work now: a timeout, a check-back, or participants to tell. */
  dueRecords(limit: number): string[] {
    return this.sql.exec<{ id: string }>(SQL.recordsDue, this.clock.now(), limit).toArray().map((r) => r.id);
  }

  /**
   * Counts a check-back about to be sent and sets when the next is due, should this one
   * answer unknown. Returns the check's number (1 for the first), or null if the transaction
   * is no longer prepared.
   */
  startCheck(id: string): number | null {
    return this.storage.transactionSync(() => {
      const row = this.record(id);
      if (!row || row.state !== "prepared") return null;
      this.sql.exec(SQL.recordCheck, this.clock.now() + row.interval_ms, id);
      return row.checks + 1;
    });
  }

  /**
   * A participant asks about a transaction it holds a share of and heard no decision for. An id
   * this home never recorded (its prepare failed before the record was made) is recorded as
   * rolled back (reason `timeout`) so that a late record of it is refused.
   */
  answerParticipant(id: string): DecisionAnswer {
    return this.storage.transactionSync((): DecisionAnswer => {
      const row = this.record(id);
      if (!row) {
        const now = this.clock.now();
        this.sql.exec(SQL.recordTombstone, id, now, now, now);
        return { state: "rolled_back" };
      }
      if (row.state === "prepared") return { state: "prepared", askAgainAt: row.due_at + TRANSACTION_ASK_GRACE_MS };
      return { state: row.state };
    });
  }

  /** Shares whose decision is overdue: [id, home] to ask. */
  sharesToAsk(limit: number): { id: string; home: number }[] {
    return this.sql
      .exec<{ txn: string; home: number }>(SQL.sharesToAsk, this.clock.now(), limit)
      .toArray()
      .map((r) => ({ id: r.txn, home: r.home }));
  }

  askAgainAt(id: string, at: number): void {
    this.sql.exec(SQL.shareAskAt, at, id);
  }

  /** Forgets decided records everyone applied, and applied shares, older than `keepMs`. */
  forgetResolved(keepMs: number): void {
    const before = this.clock.now() - keepMs;
    this.storage.transactionSync(() => {
      this.sql.exec(SQL.recordsForget, before);
      this.trace.forget(before);
      this.sql.exec(SQL.sharesForget, before);
    });
  }

  /** When transaction work is next due here, or null. */
  nextDueAt(): number | null {
    return this.sql.exec<{ due: number | null }>(SQL.nextDue).one().due;
  }

  private record(id: string): RecordRow | undefined {
    return this.sql.exec<RecordRow>(SQL.recordGet, id).toArray()[0];
  }

  private share(id: string): ShareRow | undefined {
    return this.sql.exec<ShareRow>(SQL.shareGet, id).toArray()[0];
  }

  private progressOf(row: RecordRow): Progress {
    const here = this.log.partitionIndex();
    const pending = (JSON.parse(row.pending) as number[]).filter((p) => p !== here);
    let results: Progress["results"] = null;
    if (row.state === "committed" && pending.length === 0) {
      const stored = JSON.parse(row.results) as Record<string, StoredResult[]>;
      const next = new Map<number, number>();
      results = [];
      for (const [id, partition] of JSON.parse(row.messages) as [string, number][]) {
        const i = next.get(partition) ?? 0;
        next.set(partition, i + 1);
        const r = stored[partition]?.[i];
        if (!r) {
          results = null;
          break;
        }
        results.push({ id, partition, ...decodeResult(r) });
      }
    }
    const messageIds = (JSON.parse(row.messages) as [string, number][]).map(([id]) => id);
    return { view: viewOf(row), messageIds, pending: row.state === "prepared" ? [] : pending, results };
  }
}

function viewOf(row: RecordRow): TransactionView {
  const check = row.check_url === null ? null : { url: row.check_url, maxChecks: row.max_checks, intervalMs: row.interval_ms };
  return {
    id: row.id,
    state: row.state,
    reason: row.reason,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
    checks: row.checks,
    check,
    nextCheckAt: row.state === "prepared" && check ? row.due_at : null,
  };
}

function encodeResult(a: Appended): StoredResult {
  return [a.offset, a.producedAt, a.duplicate ? 1 : 0];
}

function decodeResult([offset, producedAt, duplicate]: StoredResult): Appended {
  return { offset, producedAt, duplicate: duplicate === 1 };
}

function parseResults(text: string | null): Appended[] {
  return text ? (JSON.parse(text) as StoredResult[]).map(decodeResult) : [];
}
