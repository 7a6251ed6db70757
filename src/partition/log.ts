import type {
  Appended,
  AppendOutcome,
  CancelOutcome,
  DeliveryPolicy,
  HeaderFilter,
  LeasedMessage,
  MessageTrace,
  NackOptions,
  NewMessage,
  PartitionContext,
  PartitionStats,
  ReceiptOutcome,
  ReceiptRef,
  SeekTarget,
  SubscriptionCounts,
  SubscriptionMode,
  SubscriptionSpec,
  TopicPolicy,
} from "../shared/partition-api";
import { randomToken } from "../shared/ids";
import { storedMessageBytes } from "../shared/bytes";
import type { Clock } from "../shared/clock";
import { DROP_OLDEST_PER_APPEND, DUE_BATCH_ROWS, LEASE_BUDGET_BYTES, RETENTION_BATCH_MESSAGES, RETENTION_SCAN_PER_PASS_MESSAGES } from "../shared/limits";
import { Counters } from "./counters";
import { Outbox } from "./outbox";
import { backoffMs, deadLetterMessage, DEFAULT_TOPIC_POLICY, type DeadLetterReason } from "./policy";
import { candidatesQuery, DELAYED, ENDED, LEASED, MOVING, READY, SQL } from "./statements";
import { Trace } from "./trace";

interface SubscriptionRow {
  mode: SubscriptionMode;
  sinceMs: number;
  /** null until a caller sent one: such a subscription retries without end. */
  policy: DeliveryPolicy | null;
}

type CandidateRow = { offset: number; attempt: number; bytes: number };

type LogRow = {
  offset: number;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  priority: number;
  produced_at: number;
  origin_partition: number | null;
  origin_offset: number | null;
};

/** A message on its way to a temporary surge partition. */
export interface SurgeCopy {
  offset: number;
  message: NewMessage;
}


/**
 * The ordered log of one partition and, per subscription, the state of every unacked message.
 * Every public method is one synchronous transaction: a state change of the log, named as a
 * verb. Times are milliseconds since the epoch, read from the injected clock.
 */
export class PartitionLog {
  private readonly subscriptions = new Map<string, SubscriptionRow>();
  /** Uids of subscriptions deleted here: never served again (statements.ts, forgottenAll). */
  private readonly forgotten = new Set<string>();
  /** Dead letters on their way out; written in the transactions that dead-letter. */
  readonly outbox: Outbox;
  /** Observability (/metrics, message trace): written only through the hooks marked "observe:". */
  readonly metrics: Counters;
  readonly trace: Trace;
  private deleted: boolean | null = null;
  private appendCounters: { next: number; cumBytes: number } | null = null;
  private context: PartitionContext | null;
  /** The context as stored, to tell a changed one from the same one sent again (every append). */
  private contextText: string | null;
  /** Where the next retention pass resumes (a pass that ran out of budget), else 0. */
  private retentionFrom = 0;
  /** drop_oldest stopped at its bound with the backlog still over: the alarm goes on at once. */
  private overflowPending = false;
  /** A retention pass stopped at its budget: the next one is due at once. */
  private retentionPending = false;
  /** No retention pass since this object started or the topic's rules changed: one is due. */
  private retentionStale = true;
  /** When the first message the last pass found young passes the retention; null: unknown. */
  private retentionNextAt: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: Clock,
    options: { trace: boolean } = { trace: true },
  ) {
    this.outbox = new Outbox(storage.sql);
    this.metrics = new Counters(storage.sql, options.trace);
    this.trace = new Trace(storage.sql, options.trace);
    for (const row of this.sql.exec<{ uid: string; mode: string; since_ms: number; policy: string | null }>(
      SQL.subscriptionsAll,
    )) {
      this.subscriptions.set(row.uid, {
        mode: row.mode as SubscriptionMode,
        sinceMs: row.since_ms,
        policy: row.policy ? (JSON.parse(row.policy) as DeliveryPolicy) : null,
      });
    }
    for (const row of this.sql.exec<{ uid: string }>(SQL.forgottenAll)) this.forgotten.add(row.uid);
    const stored = this.sql.exec<{ value: string }>(SQL.settingGet, "context").toArray()[0];
    this.context = stored ? (JSON.parse(stored.value) as PartitionContext) : null;
    this.contextText = stored?.value ?? null;
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private get topicPolicy(): TopicPolicy {
    return this.context?.policy ?? DEFAULT_TOPIC_POLICY;
  }

  private meta(name: string): number | null {
    const row = this.sql.exec<{ value: number }>(SQL.metaGet, name).toArray()[0];
    return row ? row.value : null;
  }

  /** True once the topic has been deleted: the object then refuses all writes. */
  isDeleted(): boolean {
    // Asked by every call: read once, then kept (this object is the only writer).
    this.deleted ??= this.meta("deleted") === 1;
    return this.deleted;
  }

  markDeleted(): void {
    this.sql.exec(SQL.metaSet, "deleted", 1);
    this.deleted = true;
  }

  nextOffset(): number {
    return this.counters().next;
  }

  /** The append counters, read from `meta` once and then kept: only append writes them. */
  private counters(): { next: number; cumBytes: number } {
    this.appendCounters ??= { next: this.meta("next_offset") ?? 0, cumBytes: this.meta("cum_bytes") ?? 0 };
    return this.appendCounters;
  }

  /** Keeps who this partition is and its topic's rules, for work no caller starts (alarms). */
  setContext(context: PartitionContext): void {
    const text = JSON.stringify(context);
    if (text === this.contextText) return;
    this.sql.exec(SQL.settingSet, "context", text);
    this.retentionStale = true;
    this.context = context;
    this.contextText = text;
  }

  /** Who this partition is in its topic (its index), as its context says. */
  partitionIndex(): number {
    return this.context?.index ?? 0;
  }

  subscription(uid: string): { mode: SubscriptionMode; policy: DeliveryPolicy | null } | undefined {
    return this.subscriptions.get(uid);
  }

  subscriptionUids(): string[] {
    return [...this.subscriptions.keys()];
  }

  /**
   * Starts serving a subscription here, with a delivery row for every retained message
   * produced at or after `spec.sinceMs`, or takes up its newer policy. Returns whether it was new.
   */
  subscribe(spec: SubscriptionSpec): boolean {
    if (this.forgotten.has(spec.uid)) return false;
    const known = this.subscriptions.get(spec.uid);
    if (known) {
      if (spec.policy && JSON.stringify(spec.policy) !== JSON.stringify(known.policy)) {
        this.sql.exec(SQL.subscriptionSetPolicy, JSON.stringify(spec.policy), spec.uid);
        known.policy = spec.policy;
      }
      return false;
    }
    const policy = spec.policy ?? null;
    this.storage.transactionSync(() => {
      this.sql.exec(SQL.subscriptionInsert, spec.uid, spec.mode, spec.sinceMs, policy ? JSON.stringify(policy) : null);
      this.sql.exec(SQL.deliveriesBackfillSince, spec.uid, spec.mode, spec.sinceMs, this.clock.now());
    });
    this.subscriptions.set(spec.uid, { mode: spec.mode, sinceMs: spec.sinceMs, policy });
    return true;
  }

  /**
   * Forgets a subscription, its delivery state and its undelivered dead letters, for good: a
   * later call that names it (from a stale catalog cache) does not bring it back.
   */
  unsubscribe(uid: string): void {
    this.storage.transactionSync(() => {
      this.sql.exec(SQL.subscriptionDelete, uid);
      this.sql.exec(SQL.deliveriesDeleteForSubscription, uid);
      this.outbox.forget(uid);
      this.sql.exec(SQL.forgottenAdd, uid);
      // observe:
      this.metrics.forget(uid);
      this.trace.forgetSubscription(uid);
    });
    this.subscriptions.delete(uid);
    this.forgotten.add(uid);
  }

  /**
   * Appends messages in order, with gap-free offsets, and makes each deliverable to every
   * subscription. A message whose dedup key (the producer's id) was appended within the dedup
   * window is not stored again: its first copy's offset comes back with `duplicate: true`.
   * With `overflow: reject`, a batch that would take the backlog past the topic's limits is
   * refused whole (`topic_full`); with `drop_oldest`, the oldest unacked messages are
   * dead-lettered (reason `overflow`) until the backlog fits.
   */
  append(messages: readonly NewMessage[]): AppendOutcome {
    const now = this.clock.now();
    const policy = this.topicPolicy;
    try {
      return this.storage.transactionSync(() => this.appendInTransaction(messages, policy, now));
    } catch (error) {
      // Rolled back: the kept counters may be ahead of storage; read them again next time.
      this.appendCounters = null;
      throw error;
    }
  }

  /**
   * The append of a committed transaction (src/partition/transactions.ts), inside the
   * transaction its caller holds: the same path as `append` (dedup, priority, delay, offsets,
   * overflow: drop_oldest), but never refused for the topic's limits: the commit is decided.
   * The caller calls forgetCounters() if its transaction fails.
   */
  appendCommitted(messages: readonly NewMessage[]): Appended[] {
    const policy = this.topicPolicy;
    const unlimited = policy.overflow === "reject" ? { ...policy, maxMessages: null, maxBytes: null } : policy;
    const outcome = this.appendInTransaction(messages, unlimited, this.clock.now());
    if (!outcome.ok) throw new Error("an append without limits was refused");
    return outcome.appended;
  }

  /** After a failed transaction that appended: read the counters from storage next time. */
  forgetCounters(): void {
    this.appendCounters = null;
  }

  /** Why `messages` would pass the topic's limits with `overflow: reject`, or null. */
  overflowProblem(messages: readonly NewMessage[]): string | null {
    const policy = this.topicPolicy;
    if (policy.overflow !== "reject" || (policy.maxMessages === null && policy.maxBytes === null)) return null;
    return this.wouldOverflow(messages, policy);
  }

  /** Who this partition is and its topic's rules, as last sent; null before any. */
  currentContext(): PartitionContext | null {
    return this.context;
  }

  /** The rules this partition applies: its context's, or the defaults. */
  policy(): TopicPolicy {
    return this.topicPolicy;
  }

  private appendInTransaction(messages: readonly NewMessage[], policy: TopicPolicy, now: number): AppendOutcome {
    if (policy.overflow === "reject" && (policy.maxMessages !== null || policy.maxBytes !== null)) {
      const full = this.wouldOverflow(messages, policy);
      if (full) return { ok: false, code: "topic_full", message: full };
    }
    const first = this.nextOffset();
    let next = first;
    let cumBytes = this.counters().cumBytes;
    const appended: Appended[] = [];
    const carried: { offset: number; attempt: number; nackReason: string | null }[] = [];
    for (const m of messages) {
      const dedupKey = m.dedupKey ?? (m.idFromProducer ? m.id : null);
      if (dedupKey !== null) {
        // A surge copy is deduplicated forever: it keeps its original, possibly old, time.
        const first = (
          m.origin
            ? this.sql.exec<{ offset: number; produced_at: number }>(SQL.logFindCopy, dedupKey)
            : this.sql.exec<{ offset: number; produced_at: number }>(SQL.logFindDuplicate, dedupKey, now - policy.dedupWindowMs)
        ).toArray()[0];
        if (first) {
          appended.push({ offset: first.offset, producedAt: first.produced_at, duplicate: true });
          continue;
        }
      }
      const offset = next++;
      const bytes = storedMessageBytes(m);
      cumBytes += bytes;
      const dueAt = m.delayMs > 0 ? now + m.delayMs : 0;
      const ttlMs = m.ttlMs ?? policy.ttlMs;
      const expiresAt = ttlMs === null ? 0 : now + ttlMs;
      this.sql.exec(
        SQL.logInsert,
        offset,
        m.id,
        m.key,
        m.headers,
        m.body,
        m.priority,
        m.origin?.producedAt ?? now,
        dueAt,
        expiresAt,
        dedupKey,
        bytes,
        cumBytes,
        m.origin?.partition ?? null,
        m.origin?.offset ?? null,
      );
      appended.push({ offset, producedAt: now, duplicate: false });
      if (m.attempt || m.nackReason) carried.push({ offset, attempt: m.attempt ?? 0, nackReason: m.nackReason ?? null });
    }
    // Offsets first..next-1 are exactly the messages written above (duplicates took none).
    if (next > first) {
      for (const [uid, sub] of this.subscriptions) this.sql.exec(SQL.deliveriesForAppended, uid, sub.mode, first, next);
      for (const c of carried) this.sql.exec(SQL.deliveriesCarry, c.attempt, c.nackReason, c.offset);
    }
    this.sql.exec(SQL.metaSetCounters, next, cumBytes);
    this.appendCounters = { next, cumBytes };
    if (policy.overflow === "drop_oldest") this.overflowPending = this.dropOldestWhileOver(policy, now, DROP_OLDEST_PER_APPEND);
    return { ok: true, appended };
  }

  /**
   * The earliest time at which appending `messages` now makes something due here: a delay's
   * end, a TTL, or the end of retention. The partition re-arms its alarm only if this comes
   * before the alarm it has.
   */
  earliestDueOf(messages: readonly NewMessage[]): number {
    const now = this.clock.now();
    const policy = this.topicPolicy;
    let due = now + policy.retentionMs;
    for (const m of messages) {
      if (m.delayMs > 0) due = Math.min(due, now + m.delayMs);
      const ttl = m.ttlMs ?? policy.ttlMs;
      if (ttl !== null) due = Math.min(due, now + ttl);
    }
    return due;
  }

  /** Whether an append can dead-letter messages (overflow: drop_oldest with a limit). */
  appendMayDeadLetter(): boolean {
    const policy = this.topicPolicy;
    return policy.overflow === "drop_oldest" && (policy.maxMessages !== null || policy.maxBytes !== null);
  }

  /**
   * The backlog: from the oldest message some subscription has not acked to the newest, in
   * messages and bytes. A partition without subscriptions has no backlog.
   */
  private backlog(): { messages: number; bytes: number; oldest: number | null } {
    const next = this.nextOffset();
    let oldest: number | null = null;
    for (const uid of this.subscriptions.keys()) {
      const row = this.sql.exec<{ offset: number | null }>(SQL.subscriptionOldestOffset, uid).one();
      if (row.offset !== null && (oldest === null || row.offset < oldest)) oldest = row.offset;
    }
    if (oldest === null) return { messages: 0, bytes: 0, oldest: null };
    const before = this.sql.exec<{ before: number }>(SQL.logCumBytesBefore, oldest).toArray()[0]?.before ?? 0;
    return { messages: next - oldest, bytes: this.counters().cumBytes - before, oldest };
  }

  private wouldOverflow(messages: readonly NewMessage[], policy: TopicPolicy): string | null {
    if (this.subscriptions.size === 0) return null;
    const backlog = this.backlog();
    const bytes = messages.reduce((n, m) => n + storedMessageBytes(m), 0);
    if (policy.maxMessages !== null && backlog.messages + messages.length > policy.maxMessages) {
      return `the partition holds ${backlog.messages} unconsumed messages; ${messages.length} more would pass its limit of ${policy.maxMessages}`;
    }
    if (policy.maxBytes !== null && backlog.bytes + bytes > policy.maxBytes) {
      return `the partition holds ${backlog.bytes} unconsumed bytes; ${bytes} more would pass its limit of ${policy.maxBytes}`;
    }
    return null;
  }

  /**
   * With `overflow: drop_oldest`, dead-letters the oldest unacked messages (reason `overflow`)
   * while the backlog is over the topic's limits, at most `limit` of them. Returns whether the
   * backlog is still over: then the alarm continues (continueDropOldest).
   */
  private dropOldestWhileOver(policy: TopicPolicy, now: number, limit: number): boolean {
    for (let dropped = 0; ; dropped++) {
      const backlog = this.backlog();
      const over =
        (policy.maxMessages !== null && backlog.messages > policy.maxMessages) ||
        (policy.maxBytes !== null && backlog.bytes > policy.maxBytes);
      if (!over || backlog.oldest === null) return false;
      if (dropped >= limit) return true;
      for (const uid of this.subscriptions.keys()) {
        if (this.sql.exec(SQL.deliveriesAtOffset, backlog.oldest, uid).toArray().length > 0) {
          this.moveToDeadLetter(uid, backlog.oldest, "overflow", now);
        }
      }
    }
  }

  /**
   * Makes ready again the rows of `uid` marked moving before `markedBefore`: called by the
   * sweep when the catalog says no surge of `uid` runs, so nothing will finish their move.
   * Returns how many.
   */
  releaseStaleMoving(uid: string, markedBefore: number): number {
    return this.storage.transactionSync(() => this.sql.exec(SQL.movingRelease, uid, markedBefore).rowsWritten);
  }

  /** The alarm's part of drop_oldest: another bounded page of drops, if an append left some. */
  continueDropOldest(): void {
    if (!this.overflowPending) return;
    const policy = this.topicPolicy;
    if (policy.overflow !== "drop_oldest") {
      this.overflowPending = false;
      return;
    }
    const now = this.clock.now();
    this.overflowPending = this.storage.transactionSync(() => this.dropOldestWhileOver(policy, now, DUE_BATCH_ROWS));
  }

  /**
   * Leases up to `max` deliverable messages (matching `filter`) to one consumer of `uid` for
   * `visibilityMs`, and at most LEASE_BUDGET_BYTES of them (at least one): what passes the
   * budget stays ready. Returns them with their new attempt number and nonce, and whether
   * more were deliverable.
   */
  lease(
    uid: string,
    max: number,
    visibilityMs: number,
    filter: HeaderFilter | null = null,
    budgetBytes: number | null = null,
  ): { messages: LeasedMessage[]; more: boolean } {
    const budget = Math.min(budgetBytes ?? LEASE_BUDGET_BYTES, LEASE_BUDGET_BYTES);
    if (!this.subscriptions.has(uid)) return { messages: [], more: false };
    const now = this.clock.now();
    return this.storage.transactionSync(() => {
      const rows = this.candidates(uid, max + 1, filter, now);
      const leased: CandidateRow[] = [];
      let bytes = 0;
      for (const row of rows.slice(0, max)) {
        if (leased.length > 0 && bytes + row.bytes > budget) break;
        bytes += row.bytes;
        leased.push(row);
      }
      const more = rows.length > leased.length;
      // One nonce per lease call: a receipt is (offset, nonce), unique per delivery.
      const nonce = randomToken(12);
      if (leased.length > 0) {
        this.sql.exec(SQL.deliveriesLease, now + visibilityMs, nonce, uid, JSON.stringify(leased.map((r) => r.offset)));
        // observe:
        this.metrics.add(uid, "redelivered", leased.filter((r) => r.attempt > 0).length);
      } else if (max > 0) {
        // observe: written with the next change, not now (an idle consumer writes nothing).
        this.metrics.noteEmptyLease(uid);
      }
      const logRows = new Map(
        leased.length === 0
          ? []
          : this.sql
              .exec<LogRow>(SQL.logRowsOf, JSON.stringify(leased.map((r) => r.offset)))
              .toArray()
              .map((r) => [r.offset, r] as const),
      );
      const messages: LeasedMessage[] = leased.map((candidate) => {
        const row = logRows.get(candidate.offset)!;
        return {
        offset: row.offset,
        id: row.id,
        key: row.key,
        headers: row.headers,
        body: row.body,
        priority: row.priority,
        producedAt: row.produced_at,
        attempt: candidate.attempt + 1,
        nonce,
        originPartition: row.origin_partition,
        originOffset: row.origin_offset,
        };
      });
      return { messages, more };
    });
  }

  /** Whether `uid` has a message (matching `filter`) that it could lease now. */
  hasDeliverable(uid: string, filter: HeaderFilter | null = null): boolean {
    return this.candidates(uid, 1, filter, this.clock.now()).length > 0;
  }

  private candidates(uid: string, limit: number, filter: HeaderFilter | null, now: number): CandidateRow[] {
    const sub = this.subscriptions.get(uid);
    if (!sub) return [];
    const pairs = filter ? Object.entries(filter) : [];
    const query = candidatesQuery(sub.mode === "ordered", pairs.length);
    return this.sql.exec<CandidateRow>(query, uid, limit, now, ...pairs.flat()).toArray();
  }

  /**
   * Acks deliveries. Idempotent: a message already acked answers ok. A receipt whose message
   * was delivered again since is refused (`receipt_stale`) and changes nothing.
   */
  ack(uid: string, refs: readonly ReceiptRef[]): ReceiptOutcome[] {
    return this.storage.transactionSync(() => {
      const rows = this.deliveries(uid, refs);
      const done: number[] = [];
      const outcomes = refs.map((ref) => {
        const row = rows.get(ref.offset);
        if (!row) return ref.offset < this.nextOffset() ? OK : notInFlight("no such message");
        if (row.state === ENDED) return notInFlight(ENDED_TEXT);
        if (row.state === MOVING) return notInFlight(MOVING_TEXT);
        if (row.nonce !== ref.nonce) return STALE;
        done.push(ref.offset);
        return OK;
      });
      if (done.length > 0) {
        this.sql.exec(SQL.deliveriesDelete, uid, JSON.stringify(done));
        // observe: the ack itself is derived for the trace (no delivery row, no recorded end).
        this.metrics.add(uid, "acked", done.length);
      }
      return outcomes;
    });
  }

  /**
   * Ends leases early. The message is tried again after `delayMs` (or the back-off), unless
   * that was its last attempt (then it is dead-lettered, reason `max_deliveries`) or the nack
   * asks to dead-letter it at once (reason `rejected`). Repeating a nack of the same receipt
   * answers ok and changes nothing.
   */
  nack(uid: string, refs: readonly ReceiptRef[], options: NackOptions): ReceiptOutcome[] {
    const now = this.clock.now();
    return this.storage.transactionSync(() =>
      refs.map((ref) => {
        const row = this.delivery(uid, ref.offset);
        if (!row) return notInFlight("the message is already acked");
        if (row.state === ENDED) return notInFlight(ENDED_TEXT);
        if (row.state === MOVING) return notInFlight(MOVING_TEXT);
        if (row.nonce !== ref.nonce) return STALE;
        if (row.state !== LEASED) return OK;
        if (options.reason !== null) this.sql.exec(SQL.deliverySetNackReason, options.reason, uid, ref.offset);
        // observe:
        this.trace.record(ref.offset, uid, now, "nacked", row.attempt, { delay_ms: options.delayMs, reason: options.reason });
        if (options.deadLetter) this.moveToDeadLetter(uid, ref.offset, "rejected", now);
        else this.retryOrDeadLetter(uid, ref.offset, row.attempt, options.delayMs, now);
        return OK;
      }),
    );
  }

  /**
   * Sets the lease of each delivery to end `visibilityMs` from now. A lease that ran out but
   * whose message nobody has received since is taken up again.
   */
  extend(uid: string, refs: readonly ReceiptRef[], visibilityMs: number): ReceiptOutcome[] {
    const now = this.clock.now();
    return this.storage.transactionSync(() =>
      refs.map((ref) => {
        const row = this.delivery(uid, ref.offset);
        if (!row) return notInFlight("the message is already acked");
        if (row.state === ENDED) return notInFlight(ENDED_TEXT);
        if (row.state === MOVING) return notInFlight(MOVING_TEXT);
        if (row.nonce !== ref.nonce) return STALE;
        if (row.state === DELAYED) return notInFlight("the message was nacked");
        this.sql.exec(SQL.deliverySetState, LEASED, now + visibilityMs, uid, ref.offset);
        // observe:
        this.trace.record(ref.offset, uid, now, "extended", row.attempt, { lease_end: now + visibilityMs });
        return OK;
      }),
    );
  }

  /**
   * Cancels the messages with this id that no subscription has received yet: they are never
   * delivered. Refused (`message_delivered`) if any subscription has received one of them.
   */
  cancel(id: string): CancelOutcome {
    const now = this.clock.now();
    return this.storage.transactionSync((): CancelOutcome => {
      const rows = this.sql.exec<{ offset: number; produced_at: number }>(SQL.logById, id).toArray();
      if (rows.length === 0) return { ok: false, code: "message_not_found" };
      for (const row of rows) {
        for (const [uid, sub] of this.subscriptions) {
          // A subscription created after the message was produced never sees it.
          if (sub.sinceMs > row.produced_at) continue;
          const delivery = this.sql.exec<{ attempt: number }>(SQL.deliveryAttempt, uid, row.offset).toArray()[0];
          if (!delivery || delivery.attempt > 0) return { ok: false, code: "message_delivered" };
        }
      }
      for (const row of rows) {
        this.sql.exec(SQL.deliveriesDeleteForOffset, row.offset);
        this.sql.exec(SQL.logCancel, row.offset);
        // observe:
        this.trace.record(row.offset, "", now, "cancelled");
      }
      return { ok: true, cancelled: rows.length };
    });
  }

  /**
   * Moves a subscription's position: every retained message from the target on becomes
   * deliverable again (attempt counts start over), every message before it counts as done.
   * Leases held at the time end; their receipts are refused from then on.
   * Returns the offset the subscription now starts at.
   */
  seek(uid: string, target: SeekTarget): number {
    const sub = this.subscriptions.get(uid);
    if (!sub) return this.nextOffset();
    const now = this.clock.now();
    return this.storage.transactionSync(() => {
      let from: number;
      if (target.to === "earliest") from = 0;
      else if (target.to === "latest") from = this.nextOffset();
      else if (target.to === "offset") from = target.offset;
      else {
        const row = this.sql.exec<{ offset: number | null }>(SQL.logFirstOffsetSince, target.atMs).one();
        from = row.offset ?? this.nextOffset();
      }
      from = Math.min(from, this.nextOffset());
      this.sql.exec(SQL.deliveriesDeleteForSubscription, uid);
      this.sql.exec(SQL.deliveriesBackfillFromOffset, uid, sub.mode, from, now);
      return from;
    });
  }

  /**
   * Does what time has made due, and returns the subscriptions that gained ready messages:
   * delayed messages become ready; a lease that ended is retried (after the back-off) or, at
   * its last attempt, dead-lettered; an unleased message past its TTL is dropped or
   * dead-lettered, as the topic says.
   */
  processDue(): string[] {
    const now = this.clock.now();
    return this.storage.transactionSync(() => {
      const woken = new Set(this.sql.exec<{ sub: string }>(SQL.delayedDue, now).toArray().map((r) => r.sub));
      if (woken.size > 0) this.sql.exec(SQL.delayedPromote, now);
      for (const row of this.sql.exec<{ sub: string; offset: number; attempt: number }>(SQL.leasesEnded, now).toArray()) {
        // observe:
        this.trace.record(row.offset, row.sub, now, "lease_expired", row.attempt);
        if (this.retryOrDeadLetter(row.sub, row.offset, row.attempt, null, now) === READY) woken.add(row.sub);
      }
      const expired = this.sql.exec<{ sub: string; offset: number }>(SQL.expiredUnleased, now).toArray();
      for (const row of expired) {
        if (this.topicPolicy.expiredAction === "dead_letter") this.moveToDeadLetter(row.sub, row.offset, "expired", now);
        else {
          this.sql.exec(SQL.deliveryEnd, row.sub, row.offset);
          // observe:
          this.trace.record(row.offset, row.sub, now, "expired");
        }
      }
      return [...woken];
    });
  }

  /**
   * After attempt `attempt` of a delivery failed: dead-letter it if that was the last
   * attempt and a dead-letter topic is known, else make it ready after `delayMs` (or the
   * subscription's back-off). Returns the row's new state, or null when dead-lettered.
   */
  private retryOrDeadLetter(uid: string, offset: number, attempt: number, delayMs: number | null, now: number): number | null {
    const policy = this.subscriptions.get(uid)?.policy ?? null;
    if (policy?.deadLetter && attempt >= policy.maxDeliveries) {
      this.moveToDeadLetter(uid, offset, "max_deliveries", now);
      return null;
    }
    const wait = delayMs ?? (policy ? backoffMs(policy, attempt) : 0);
    if (wait > 0) {
      this.sql.exec(SQL.deliverySetState, DELAYED, now + wait, uid, offset);
      return DELAYED;
    }
    this.sql.exec(SQL.deliverySetState, READY, 0, uid, offset);
    return READY;
  }

  /**
   * Takes a message out of a subscription's delivery state and, in the same transaction,
   * puts its dead letter (policy.ts deadLetterMessage) in the outbox. The partition then appends
   * the outbox to the dead-letter topic (Partition.forwardDeadLetters), deduplicated by the dead
   * letter's key, so a message is never deliverable in both places and never lost between them.
   */
  private moveToDeadLetter(uid: string, offset: number, reason: DeadLetterReason, now: number): void {
    const row = this.sql
      .exec<{
        attempt: number;
        nack_reason: string | null;
        id: string;
        key: string | null;
        headers: string | null;
        body: string;
        priority: number;
        origin_partition: number | null;
        origin_offset: number | null;
      }>(SQL.deliveryForDeadLetter, uid, offset)
      .toArray()[0];
    if (!row) return;
    this.sql.exec(SQL.deliveryEnd, uid, offset);
    // observe:
    this.metrics.add(uid, "dead_lettered", 1, reason);
    this.trace.record(offset, uid, now, "dead_lettered", row.attempt, { reason });
    const source = {
      offset,
      originPartition: row.origin_partition,
      originOffset: row.origin_offset,
      id: row.id,
      key: row.key,
      headers: row.headers,
      body: row.body,
      priority: row.priority,
      attempt: row.attempt,
      nackReason: row.nack_reason,
    };
    const message = deadLetterMessage(source, {
      topic: this.context?.topic ?? "",
      topicUid: this.context?.topicUid ?? "",
      partition: this.context?.index ?? 0,
      subscriptionUid: uid,
      subscription: this.subscriptions.get(uid)?.policy?.subscription ?? uid,
      reason,
      now,
      unique: randomToken(10),
    });
    this.outbox.put(uid, message, now);
  }

  /** observe: the newest message with this id, with its trace (trace.ts); null if none here. */
  traceOf(id: string): MessageTrace | null {
    const subs = [...this.subscriptions].map(([uid, s]) => ({ uid, mode: s.mode, sinceMs: s.sinceMs }));
    return this.trace.traceOf(id, subs, this.clock.now());
  }

  policyOf(uid: string): DeliveryPolicy | null {
    return this.subscriptions.get(uid)?.policy ?? null;
  }

  /**
   * Deletes messages past the retention that no subscription still needs (acked,
   * dead-lettered, cancelled), oldest first, in pages of RETENTION_BATCH_MESSAGES: held
   * messages stay and the pass goes on past them, up to RETENTION_SCAN_PER_PASS_MESSAGES;
   * a pass that stops there resumes where it stopped, at once (nextDueAt). Returns how many.
   */
  enforceRetention(): number {
    const retentionMs = this.topicPolicy.retentionMs;
    const cutoff = this.clock.now() - retentionMs;
    let from = this.retentionFrom;
    let examined = 0;
    let deleted = 0;
    this.retentionPending = false;
    this.retentionStale = false;
    for (;;) {
      const rows = this.sql
        .exec<{ offset: number; produced_at: number }>(SQL.logOldest, from, RETENTION_BATCH_MESSAGES)
        .toArray();
      const old: number[] = [];
      let young: number | null = null;
      for (const row of rows) {
        if (row.produced_at >= cutoff) {
          young = row.produced_at;
          break;
        }
        old.push(row.offset);
      }
      if (old.length > 0) {
        const offsets = JSON.stringify(old);
        deleted += this.sql.exec(SQL.retentionDelete, offsets).rowsWritten;
        this.sql.exec(SQL.retentionDeleteEnded, offsets);
        // observe: a message's events last as long as the message.
        this.trace.forgetOffsets(old);
      }
      examined += rows.length;
      if (young !== null || rows.length < RETENTION_BATCH_MESSAGES) {
        // The end of what is old: the next pass starts from the oldest again (held ones may be free).
        this.retentionFrom = 0;
        this.retentionNextAt = young === null ? null : young + retentionMs;
        return deleted;
      }
      from = rows[rows.length - 1]!.offset + 1;
      if (examined >= RETENTION_SCAN_PER_PASS_MESSAGES) {
        this.retentionFrom = from;
        this.retentionPending = true;
        return deleted;
      }
    }
  }

  /**
   * When something next falls due here: a delayed message, a lease's end, a TTL, or the
   * oldest message's end of retention. Null if nothing will.
   */
  nextDueAt(): number | null {
    const first = (query: string, ...params: number[]): number | null =>
      this.sql.exec<{ due: number }>(query, ...params).toArray()[0]?.due ?? null;
    const times = [first(SQL.nextDueOfState, DELAYED), first(SQL.nextDueOfState, LEASED), first(SQL.nextExpiry)];
    const now = this.clock.now();
    if (this.retentionPending || this.overflowPending) times.push(now);
    const oldest = this.sql.exec<{ produced_at: number }>(SQL.oldestProduced).toArray()[0];
    if (oldest) {
      const retentionEnd = oldest.produced_at + this.topicPolicy.retentionMs;
      // An end already past is held by unacked messages: the next message to grow old is what
      // the last pass found young (the cron sweep retries the held ones).
      if (retentionEnd > now) times.push(retentionEnd);
      // Past already, and no pass has looked since the rules changed (a shorter retention): now.
      else if (this.retentionStale) times.push(now);
      else if (this.retentionNextAt !== null && this.retentionNextAt > now) times.push(this.retentionNextAt);
    }
    const due = times.filter((t): t is number => t !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  stats(): PartitionStats {
    const log = this.sql
      .exec<{ messages: number; bytes: number; first: number | null }>(SQL.statsLog)
      .one();
    const counts = new Map<string, SubscriptionCounts>();
    for (const uid of this.subscriptions.keys()) {
      counts.set(uid, { uid, ready: 0, delayed: 0, inFlight: 0, oldestUnackedAt: null, deadLettersPending: 0, moving: 0 });
    }
    for (const row of this.sql.exec<{ sub: string; state: number; n: number }>(SQL.statsStates)) {
      const c = counts.get(row.sub);
      if (!c) continue;
      if (row.state === READY) c.ready = row.n;
      else if (row.state === DELAYED) c.delayed = row.n;
      else if (row.state === LEASED) c.inFlight = row.n;
      else if (row.state === MOVING) c.moving = row.n;
    }
    for (const row of this.sql.exec<{ sub: string; oldest: number }>(SQL.statsOldest)) {
      const c = counts.get(row.sub);
      if (c) c.oldestUnackedAt = row.oldest;
    }
    for (const [uid, n] of this.outbox.counts()) {
      const c = counts.get(uid);
      if (c) c.deadLettersPending = n;
    }
    return {
      nextOffset: this.nextOffset(),
      firstOffset: log.first,
      messages: log.messages,
      bytes: log.bytes,
      subscriptions: [...counts.values()],
      // observe:
      observed: { counters: this.metrics.all(), deadLetters: this.trace.deadLetterCounts() },
    };
  }

  private delivery(uid: string, offset: number): { state: number; nonce: string | null; attempt: number } | undefined {
    return this.sql
      .exec<{ state: number; nonce: string | null; attempt: number }>(SQL.deliveryGet, uid, offset)
      .toArray()[0];
  }

  /** The delivery rows of `refs`' offsets, in one query. */
  private deliveries(uid: string, refs: readonly ReceiptRef[]): Map<number, { state: number; nonce: string | null }> {
    const rows = this.sql
      .exec<{ offset: number; state: number; nonce: string | null }>(
        SQL.deliveriesGet,
        uid,
        JSON.stringify(refs.map((r) => r.offset)),
      )
      .toArray();
    return new Map(rows.map((r) => [r.offset, r]));
  }
}

const OK: ReceiptOutcome = { ok: true };
const STALE: ReceiptOutcome = {
  ok: false,
  code: "receipt_stale",
  message: "the receipt is from an earlier delivery; the message has been delivered again since",
};
const ENDED_TEXT = "the message was dead-lettered, expired, or moved to a temporary surge partition";
const MOVING_TEXT = "the message is being moved to a temporary surge partition";
function notInFlight(message: string): ReceiptOutcome {
  return { ok: false, code: "not_in_flight", message };
}
