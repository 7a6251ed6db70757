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
import {
  DROP_OLDEST_PER_APPEND,
  DUE_BATCH_ROWS,
  DUE_BATCH_RUNS,
  FILTER_SCAN_SEGMENTS,
  LEASE_BUDGET_BYTES,
  LEASE_SCAN_SEGMENTS,
} from "../shared/limits";
import { Counters } from "./counters";
import { Outbox } from "./outbox";
import { backoffMs, deadLetterMessage, DEFAULT_TOPIC_POLICY, type DeadLetterReason } from "./policy";
import { Exceptions, seedOf, type ExceptionRow, type ExceptionSeed } from "./exceptions";
import { FilterResume, matches } from "./filters";
import { Retention } from "./retention";
import { Runs, type Run } from "./runs";
import { Segments, type StoredMessage } from "./segments";
import { ACKED, DELAYED, ENDED, HELD, LEASED, MOVING, READY, ROW_CANDIDATES, SQL } from "./statements";
import { Trace, type TracedDelivery } from "./trace";

interface SubscriptionRow {
  mode: SubscriptionMode;
  sinceMs: number;
  /** null until a caller sent one: such a subscription retries without end. */
  policy: DeliveryPolicy | null;
}

/**
 * Where a message stands for one subscription, in this order of precedence (docs/storage.md,
 * "The state of a message"): a row of its own; held by a run; new (at or past a shared
 * subscription's cursor); else done.
 */
type Place = { kind: "row"; row: ExceptionRow } | { kind: "run"; run: Run } | { kind: "new" } | { kind: "done" };

/** A message a lease may take: from a row of its own or new from the cursor. */
interface Candidate {
  message: StoredMessage;
  attempt: number;
  priority: number;
  fromRow: boolean;
}

/** A message on its way to a temporary surge partition. */
export interface SurgeCopy {
  offset: number;
  message: NewMessage;
}

/**
 * The ordered log of one partition (segments.ts) and, per subscription, where it stands: a
 * cursor and runs for the common case (runs.ts), a row per message only for the exceptions
 * (`deliveries`: delayed, prioritized, retried, ordered, filtered, moving, ended). Every public
 * method is one synchronous transaction: a state change of the log, named as a verb. Times are
 * milliseconds since the epoch, read from the injected clock.
 */
export class PartitionLog {
  private readonly subscriptions = new Map<string, SubscriptionRow>();
  /** Uids of subscriptions deleted here: never served again (statements.ts, forgottenAll). */
  private readonly forgotten = new Set<string>();
  readonly segments: Segments;
  private readonly runs: Runs;
  readonly exceptions: Exceptions;
  /** Dead letters on their way out; written in the transactions that dead-letter. */
  readonly outbox: Outbox;
  /** Observability (/metrics, message trace): written only through the hooks marked "observe:". */
  readonly metrics: Counters;
  readonly trace: Trace;
  private deleted: boolean | null = null;
  private context: PartitionContext | null;
  /** The context as stored, to tell a changed one from the same one sent again (every append). */
  private contextText: string | null;
  private readonly filterResume = new FilterResume();
  private readonly retention = new Retention();
  /** A dead letter went into the outbox since tookDeadLetters() was last asked. */
  private deadLettered = false;
  /** drop_oldest stopped at its bound with the backlog still over: the alarm goes on at once. */
  private overflowPending = false;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: Clock,
    options: { trace: boolean; dedup?: { capacity?: number; blockIds?: number } } = { trace: true },
  ) {
    this.segments = new Segments(storage.sql, options.dedup);
    this.runs = new Runs(storage.sql, options.trace);
    this.exceptions = new Exceptions(storage.sql, (uid) => this.subscriptions.get(uid)?.mode);
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
    for (const uid of this.subscriptions.keys()) this.exceptions.track(uid);
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

  /** Runs `work` in one transaction; if it fails, what this object keeps in memory is read again. */
  private transaction<T>(work: () => T): T {
    try {
      return this.storage.transactionSync(work);
    } catch (error) {
      this.segments.forget();
      this.runs.forget();
      throw error;
    }
  }

  /** True once the topic has been deleted: the object then refuses all writes. */
  isDeleted(): boolean {
    // Asked by every call: read once, then kept (this object is the only writer).
    this.deleted ??= this.sql.exec<{ value: number }>(SQL.metaGet, "deleted").toArray()[0]?.value === 1;
    return this.deleted;
  }

  markDeleted(): void {
    this.sql.exec(SQL.metaSet, "deleted", 1);
    this.deleted = true;
  }

  nextOffset(): number {
    return this.segments.next();
  }

  /** Keeps who this partition is and its topic's rules, for work no caller starts (alarms). */
  setContext(context: PartitionContext): void {
    const text = JSON.stringify(context);
    if (text === this.contextText) return;
    this.sql.exec(SQL.settingSet, "context", text);
    this.retention.rulesChanged();
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
   * Starts serving a subscription here from the first retained message produced at or after
   * `spec.sinceMs`, or takes up its newer policy. Returns whether it was new.
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
    const now = this.clock.now();
    this.transaction(() => {
      this.sql.exec(SQL.subscriptionInsert, spec.uid, spec.mode, spec.sinceMs, policy ? JSON.stringify(policy) : null);
      const from = this.segments.firstOffsetSince(spec.sinceMs);
      if (spec.mode === "shared") this.runs.setCursor(spec.uid, from);
      this.backfill(spec.uid, spec.mode, from, now, spec.sinceMs);
    });
    this.subscriptions.set(spec.uid, { mode: spec.mode, sinceMs: spec.sinceMs, policy });
    this.exceptions.track(spec.uid);
    return true;
  }

  /**
   * Gives the messages from `from` on the rows the cursor cannot stand for: every message of an
   * ordered subscription; a shared one's delayed and prioritized messages. O(messages from `from`)
   * rows read; rows written only for those exceptions.
   */
  private backfill(uid: string, mode: SubscriptionMode, from: number, now: number, sinceMs: number): void {
    const end = this.nextOffset();
    if (from >= end) return;
    const marks = this.segments.marksIn(from, end);
    const seeds: ExceptionSeed[] = [];
    this.segments.walk(from, Number.MAX_SAFE_INTEGER, (m) => {
      if (marks.has(m.offset) || m.producedAt < sinceMs) return true;
      if (mode === "ordered" && m.expiresAt > 0 && m.expiresAt <= now) return true;
      if (mode === "ordered" || m.deliverAt > now || m.priority !== 0) seeds.push(seedOf(m, mode, now));
      return true;
    });
    this.exceptions.insert(uid, seeds);
  }

  /**
   * Forgets a subscription, its delivery state and its undelivered dead letters, for good: a
   * later call that names it (from a stale catalog cache) does not bring it back.
   */
  unsubscribe(uid: string): void {
    this.transaction(() => {
      this.sql.exec(SQL.subscriptionDelete, uid);
      this.sql.exec(SQL.deliveriesDeleteForSubscription, uid);
      this.runs.drop(uid);
      this.outbox.forget(uid);
      this.sql.exec(SQL.forgottenAdd, uid);
      // observe:
      this.metrics.forget(uid);
      this.trace.forgetSubscription(uid);
    });
    this.subscriptions.delete(uid);
    this.exceptions.untrack(uid);
    this.forgotten.add(uid);
    this.filterResume.forget(uid);
  }

  /** After the head of an ordering key may have left: see Exceptions.refreshKey. */
  refreshKey(uid: string, okey: string): void {
    this.exceptions.refreshKey(uid, okey);
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
    return this.transaction(() => this.appendInTransaction(messages, policy, now));
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

  /** After a failed transaction that appended: read what is kept in memory from storage next time. */
  forgetCounters(): void {
    this.segments.forget();
    this.runs.forget();
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

  /**
   * The first copy of `dedupKey` appended within the window starting at `since` (a surge copy's
   * key: as long as it is held), not cancelled; null if none.
   */
  findDuplicate(dedupKey: string, since: number): { offset: number; producedAt: number } | null {
    const m = this.segments.findDuplicate(dedupKey, since, (offset) => this.segments.markOf(offset) === "cancelled");
    return m ? { offset: m.offset, producedAt: m.producedAt } : null;
  }

  private appendInTransaction(messages: readonly NewMessage[], policy: TopicPolicy, now: number): AppendOutcome {
    if (policy.overflow === "reject" && (policy.maxMessages !== null || policy.maxBytes !== null)) {
      const full = this.wouldOverflow(messages, policy);
      if (full) return { ok: false, code: "topic_full", message: full };
    }
    const since = now - policy.dedupWindowMs;
    let next = this.nextOffset();
    const appended: Appended[] = [];
    const fresh: StoredMessage[] = [];
    const carried = new Map<number, { attempt: number; nackReason: string | null }>();
    const inBatch = new Map<string, number>();
    for (const m of messages) {
      const dedupKey = m.dedupKey ?? (m.idFromProducer ? m.id : null);
      if (dedupKey !== null) {
        const earlier = inBatch.get(dedupKey);
        if (earlier !== undefined) {
          appended.push({ offset: earlier, producedAt: now, duplicate: true });
          continue;
        }
        const first = this.findDuplicate(dedupKey, since);
        if (first) {
          appended.push({ offset: first.offset, producedAt: first.producedAt, duplicate: true });
          continue;
        }
      }
      const offset = next++;
      const ttlMs = m.ttlMs ?? policy.ttlMs;
      fresh.push({
        offset,
        id: m.id,
        key: m.key,
        headers: m.headers,
        body: m.body,
        priority: m.priority,
        producedAt: m.origin?.producedAt ?? now,
        deliverAt: m.delayMs > 0 ? now + m.delayMs : 0,
        expiresAt: ttlMs === null ? 0 : now + ttlMs,
        dedupKey,
        bytes: storedMessageBytes(m),
        originPartition: m.origin?.partition ?? null,
        originOffset: m.origin?.offset ?? null,
      });
      if (dedupKey !== null) inBatch.set(dedupKey, offset);
      appended.push({ offset, producedAt: now, duplicate: false });
      if (m.attempt || m.nackReason) carried.set(offset, { attempt: m.attempt ?? 0, nackReason: m.nackReason ?? null });
    }
    if (fresh.length > 0) {
      this.segments.append(fresh, now);
      // Rows only for what the cursor cannot stand for (every message, for an ordered subscription).
      for (const [uid, sub] of this.subscriptions) {
        const seeds: ExceptionSeed[] = [];
        for (const m of fresh) {
          const carry = carried.get(m.offset);
          if (sub.mode !== "ordered" && m.deliverAt === 0 && m.priority === 0 && !carry) continue;
          const seed = seedOf(m, sub.mode, 0);
          if (carry) {
            seed.attempt = carry.attempt;
            seed.nackReason = carry.nackReason;
          }
          seeds.push(seed);
        }
        this.exceptions.insert(uid, seeds);
      }
    }
    if (policy.overflow === "drop_oldest") this.overflowPending = this.dropOldestWhileOver(policy, now, DROP_OLDEST_PER_APPEND);
    return { ok: true, appended };
  }

  /**
   * The backlog: from the oldest message some subscription has not acked to the newest, in
   * messages and bytes. A partition without subscriptions has no backlog.
   */
  private backlog(): { messages: number; bytes: number; oldest: number | null } {
    const oldest = this.floorOfAll();
    if (oldest === null) return { messages: 0, bytes: 0, oldest: null };
    return {
      messages: this.nextOffset() - oldest,
      bytes: this.segments.cumBytes() - this.segments.cumBytesBefore(oldest),
      oldest,
    };
  }

  /** The smallest floor of all subscriptions (null: none holds anything). */
  private floorOfAll(): number | null {
    let oldest: number | null = null;
    for (const uid of this.subscriptions.keys()) {
      const floor = this.floor(uid);
      if (floor !== null && (oldest === null || floor < oldest)) oldest = floor;
    }
    return oldest;
  }

  /**
   * A subscription's done floor: every message below it is done for the subscription (acked,
   * dead-lettered, expired, cancelled). The smallest of its cursor (if anything is past it), its
   * runs' first held offsets and its first live row. Null when it holds nothing.
   */
  private floor(uid: string): number | null {
    let floor = this.exceptions.firstLive(uid);
    const lower = (offset: number) => {
      if (floor === null || offset < floor) floor = offset;
    };
    if (this.subscriptions.get(uid)?.mode === "shared") {
      const readTo = this.runs.cursor(uid);
      if (readTo < this.nextOffset()) lower(readTo);
      for (const run of this.runs.of(uid)) if (run.held.length > 0) lower(run.held[0]!);
    }
    return floor;
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
      const oldest = backlog.oldest;
      let moved = false;
      for (const uid of this.subscriptions.keys()) {
        const row = this.materialize(uid, oldest, now);
        if (row && row.state < ENDED && row.state !== MOVING) {
          this.moveToDeadLetter(uid, oldest, "overflow", now);
          moved = true;
        } else if (this.subscriptions.get(uid)!.mode === "shared" && this.runs.cursor(uid) === oldest) {
          // The cursor sits on a message nobody can take (cancelled, gone): step past it.
          this.runs.setCursor(uid, oldest + 1);
          moved = true;
        }
      }
      if (!moved) return false;
    }
  }

  /**
   * Leases up to `max` deliverable messages (matching `filter`) to one consumer of `uid` for
   * `visibilityMs`, and at most LEASE_BUDGET_BYTES of them (at least one): what passes the
   * budget stays ready. Returns them with their new attempt number and nonce, and whether
   * more were deliverable. New messages taken in order from the cursor cost one run row for
   * the whole lease; messages with rows of their own are updated in place.
   */
  lease(
    uid: string,
    max: number,
    visibilityMs: number,
    filter: HeaderFilter | null = null,
    budgetBytes: number | null = null,
  ): { messages: LeasedMessage[]; more: boolean } {
    const budget = Math.min(budgetBytes ?? LEASE_BUDGET_BYTES, LEASE_BUDGET_BYTES);
    const sub = this.subscriptions.get(uid);
    if (!sub) return { messages: [], more: false };
    const now = this.clock.now();
    return this.transaction(() => {
      const found = this.candidates(uid, sub.mode, max + 1, filter, now);
      const leased: Candidate[] = [];
      let bytes = 0;
      for (const c of found.list.slice(0, max)) {
        if (leased.length > 0 && bytes + c.message.bytes > budget) break;
        bytes += c.message.bytes;
        leased.push(c);
      }
      // A walk cut short by its bound may have left deliverable messages past where it stopped.
      const more = found.list.length > leased.length || found.truncated;
      // One nonce per lease call: a receipt is (offset, nonce), unique per delivery.
      const nonce = randomToken(12);
      const dueAt = now + visibilityMs;
      if (max > 0) this.takeNew(uid, found, leased, filter, nonce, dueAt, now);
      const rows = leased.filter((c) => c.fromRow);
      if (rows.length > 0) this.sql.exec(SQL.deliveriesLease, dueAt, nonce, uid, JSON.stringify(rows.map((c) => c.message.offset)));
      if (leased.length > 0) {
        // observe:
        this.metrics.add(uid, "redelivered", rows.filter((c) => c.attempt > 0).length);
      } else if (max > 0) {
        // observe: written with the next change, not now (an idle consumer writes nothing).
        this.metrics.noteEmptyLease(uid);
      }
      const messages: LeasedMessage[] = leased.map(({ message: m, attempt }) => ({
        offset: m.offset,
        id: m.id,
        key: m.key,
        headers: m.headers,
        body: m.body,
        priority: m.priority,
        producedAt: m.producedAt,
        attempt: attempt + 1,
        nonce,
        originPartition: m.originPartition,
        originOffset: m.originOffset,
        bytes: m.bytes,
      }));
      return { messages, more };
    });
  }

  /**
   * The new messages of a lease: without a filter, one run row for those taken and the cursor
   * moved past them (and past what it skipped: messages with rows, cancelled, expired — these
   * dropped or dead-lettered now); with a filter, a row each (a filter cannot move the cursor:
   * what it skips stays new for the other consumers) and the filter's resume point moved.
   * Those taken with rows are marked `fromRow`, to be leased with the others.
   */
  private takeNew(uid: string, found: Candidates, leased: Candidate[], filter: HeaderFilter | null, nonce: string, dueAt: number, now: number): void {
    if (found.walkedTo === null) return;
    const taken = leased.filter((c) => !c.fromRow).map((c) => c.message);
    const takenSet = new Set(taken);
    const untaken = found.newList.find((m) => !takenSet.has(m));
    const stop = untaken ? untaken.offset : found.walkedTo;
    if (filter) {
      this.filterResume.set(uid, filter, stop);
      const seeds = taken.map((m) => seedOf(m, "shared", now));
      this.exceptions.insert(uid, seeds);
      for (const c of leased) c.fromRow = true;
      return;
    }
    for (const m of found.expired) if (m.offset < stop) this.expireNew(uid, m, now);
    if (taken.length > 0) {
      this.runs.insert(uid, { first: taken[0]!.offset, last: taken.at(-1)!.offset, dueAt, nonce, leasedAt: now, held: taken.map((m) => m.offset) });
    }
    this.runs.setCursor(uid, Math.max(stop, this.runs.cursor(uid)));
  }

  /** A new message past its TTL that the cursor passes: dropped, or dead-lettered, as the topic says. */
  private expireNew(uid: string, m: StoredMessage, now: number): void {
    if (this.topicPolicy.expiredAction === "dead_letter") {
      this.exceptions.insert(uid, [{ ...seedOf(m, "shared", now), state: ENDED }]);
      this.deadLetterOut(uid, m, 0, null, "expired", now);
    } else {
      // observe:
      this.trace.record(m.offset, uid, now, "expired");
    }
  }

  /** Whether `uid` has a message (matching `filter`) that it could lease now. */
  hasDeliverable(uid: string, filter: HeaderFilter | null = null): boolean {
    const sub = this.subscriptions.get(uid);
    if (!sub) return false;
    const found = this.candidates(uid, sub.mode, 1, filter, this.clock.now());
    // A filter's walk found nothing up to walkedTo: the next one starts there (memory only).
    if (filter && found.list.length === 0 && found.walkedTo !== null) this.filterResume.set(uid, filter, found.walkedTo);
    // A walk stopped by its bound has not looked at everything: say yes, and the lease that
    // follows walks on from there (a wait never parks while an unread match may exist).
    return found.list.length > 0 || found.truncated;
  }

  /**
   * The best `limit` deliverable messages of `uid`: rows of its own that are ready (highest
   * priority first, then oldest), merged by offset with new messages from the cursor (priority 0:
   * a message with another priority has a row). Reads at most LEASE_SCAN_SEGMENTS segments
   * (FILTER_SCAN_SEGMENTS with a filter) past the cursor.
   */
  private candidates(uid: string, mode: SubscriptionMode, limit: number, filter: HeaderFilter | null, now: number): Candidates {
    const rows = this.rowCandidates(uid, limit, filter, now);
    if (mode === "ordered") return { list: rows.slice(0, limit), newList: [], expired: [], walkedTo: null, truncated: false };
    const readTo = this.runs.cursor(uid);
    const from = filter ? Math.max(readTo, this.filterResume.get(uid, filter) ?? readTo) : readTo;
    const newList: StoredMessage[] = [];
    const expired: StoredMessage[] = [];
    // The bound is on segments past those the wanted messages may fill one each (single-message
    // appends make one segment a message).
    const bound = (filter ? FILTER_SCAN_SEGMENTS : LEASE_SCAN_SEGMENTS) + limit;
    const walkedTo = this.walkNew(uid, from, bound, (m) => {
      if (m.expiresAt > 0 && m.expiresAt <= now) expired.push(m);
      else if (!filter || matches(m, filter)) newList.push(m);
      return newList.length < limit;
    });
    const truncated = newList.length < limit && walkedTo < this.nextOffset();
    // Rows with a priority above the default come first; the rest merge with the new by offset.
    const list: Candidate[] = rows.filter((c) => c.priority > 0);
    const rest = rows.filter((c) => c.priority <= 0);
    let k = 0;
    for (const m of newList) {
      while (k < rest.length && rest[k]!.message.offset < m.offset) list.push(rest[k++]!);
      list.push({ message: m, attempt: 0, priority: 0, fromRow: false });
    }
    list.push(...rest.slice(k));
    return { list: list.slice(0, limit), newList, expired, walkedTo, truncated };
  }

  /** Ready rows of `uid` (matching `filter`), best first, with their messages. */
  private rowCandidates(uid: string, limit: number, filter: HeaderFilter | null, now: number): Candidate[] {
    if (!this.exceptions.mayHaveRows(uid)) return [];
    // A filter is applied here, not in SQL: read a bounded page of rows and keep the matches.
    const rows = this.sql
      .exec<{ offset: number; attempt: number; priority: number }>(ROW_CANDIDATES, uid, filter ? Math.max(limit, 1000) : limit, now)
      .toArray();
    const messages = this.segments.many(rows.map((r) => r.offset));
    const list: Candidate[] = [];
    for (const r of rows) {
      const message = messages.get(r.offset);
      if (!message || (filter && !matches(message, filter))) continue;
      list.push({ message, attempt: r.attempt, priority: r.priority, fromRow: true });
      if (list.length >= limit) break;
    }
    return list;
  }

  /**
   * Walks the new messages of shared subscription `uid` from `from`: past messages with rows of
   * their own and cancelled or redriven ones, at most `maxSegments` segments, while `visit`
   * says go on. Returns the offset after the last message looked at.
   */
  private walkNew(uid: string, from: number, maxSegments: number, visit: (m: StoredMessage) => boolean): number {
    const end = this.nextOffset();
    if (from >= end) return Math.max(from, end);
    let owned = new Set<number>();
    let marks = new Map<number, string>();
    let knownTo = from - 1;
    return this.segments.walk(from, maxSegments, (m) => {
      if (m.offset > knownTo) {
        // What has rows or marks, a window at a time: one indexed range query each.
        knownTo = m.offset + 1023;
        owned = this.exceptions.offsetsIn(uid, m.offset, knownTo);
        marks = this.segments.marksIn(m.offset, knownTo);
      }
      if (owned.has(m.offset) || marks.has(m.offset)) return true;
      return visit(m);
    });
  }

  /**
   * Acks deliveries. Idempotent: a message already acked answers ok. A receipt whose message
   * was delivered again since is refused (`receipt_stale`) and changes nothing.
   */
  ack(uid: string, refs: readonly ReceiptRef[]): ReceiptOutcome[] {
    return this.transaction(() => {
      const rows = this.exceptions.ofOffsets(uid, refs.map((r) => r.offset));
      const runs = this.runsOf(uid, refs);
      const done: number[] = [];
      const released = new Map<Run, Set<number>>();
      const outcomes = refs.map((ref) => {
        const row = rows.get(ref.offset);
        if (!row) {
          const run = runs.find((r) => r.first <= ref.offset && ref.offset <= r.last);
          if (run && run.held.includes(ref.offset)) {
            if (run.nonce !== ref.nonce) return STALE;
            let set = released.get(run);
            if (!set) released.set(run, (set = new Set()));
            set.add(ref.offset);
            return OK;
          }
          if (!run && this.isNew(uid, ref.offset)) return STALE;
          return ref.offset < this.nextOffset() ? OK : notInFlight("no such message");
        }
        if (row.state === ACKED) return OK;
        if (row.state === ENDED) return notInFlight(ENDED_TEXT);
        if (row.state === MOVING) return notInFlight(MOVING_TEXT);
        if (row.nonce !== ref.nonce) return STALE;
        done.push(ref.offset);
        return OK;
      });
      if (done.length > 0) {
        // A row at or past the cursor stays, acked, so that the cursor walks past its message.
        const readTo = this.subscriptions.get(uid)?.mode === "shared" ? this.runs.cursor(uid) : Number.MAX_SAFE_INTEGER;
        const below = done.filter((o) => o < readTo);
        const past = done.filter((o) => o >= readTo);
        if (below.length > 0) this.sql.exec(SQL.deliveriesDelete, uid, JSON.stringify(below));
        if (past.length > 0) this.sql.exec(SQL.deliveriesAck, uid, JSON.stringify(past));
        for (const okey of new Set(done.map((o) => rows.get(o)!.okey))) this.exceptions.refreshKey(uid, okey);
      }
      let acked = done.length;
      const now = this.clock.now();
      for (const [run, offsets] of released) {
        acked += offsets.size;
        this.runs.setHeld(uid, run, run.held.filter((o) => !offsets.has(o)), now);
      }
      // observe: the ack itself is derived for the trace (no row, no recorded end).
      if (acked > 0) this.metrics.add(uid, "acked", acked);
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
    return this.transaction(() => {
      const runs = this.runsOf(uid, refs);
      // Messages of runs go straight from their run to the state that follows, a row each.
      const fromRuns = new Map<Run, number[]>();
      const outcomes = refs.map((ref) => {
        const run = runs.find((r) => r.held.includes(ref.offset));
        if (run && !fromRuns.get(run)?.includes(ref.offset) && !this.exceptions.get(uid, ref.offset)) {
          if (run.nonce !== ref.nonce) return STALE;
          const list = fromRuns.get(run) ?? [];
          if (list.length === 0) fromRuns.set(run, list);
          list.push(ref.offset);
          // observe:
          this.trace.record(ref.offset, uid, now, "nacked", 1, { delay_ms: options.delayMs, reason: options.reason });
          return OK;
        }
        if (run && fromRuns.get(run)?.includes(ref.offset)) return OK;
        const row = this.rowForReceipt(uid, ref, runs);
        if (row === "stale") return STALE;
        if (!row || row.state === ACKED) return notInFlight("the message is already acked");
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
      });
      for (const [run, offsets] of fromRuns) {
        this.failFromRun(uid, run, offsets, { delayMs: options.delayMs, deadLetter: options.deadLetter, reason: options.reason }, now);
      }
      return outcomes;
    });
  }

  /**
   * Sets the lease of each delivery to end `visibilityMs` from now. A lease that ran out but
   * whose message nobody has received since is taken up again. A whole run extended together
   * stays one row.
   */
  extend(uid: string, refs: readonly ReceiptRef[], visibilityMs: number): ReceiptOutcome[] {
    const now = this.clock.now();
    const dueAt = now + visibilityMs;
    return this.transaction(() => {
      const runs = this.runsOf(uid, refs);
      for (const run of runs) {
        const named = refs.filter((r) => r.nonce === run.nonce && run.held.includes(r.offset));
        if (named.length === run.held.length && named.length > 0) this.runs.setDue(uid, run, dueAt);
      }
      return refs.map((ref) => {
        const whole = runs.find((r) => r.dueAt === dueAt && r.nonce === ref.nonce && r.held.includes(ref.offset));
        if (whole) {
          // observe:
          this.trace.record(ref.offset, uid, now, "extended", 1, { lease_end: dueAt });
          return OK;
        }
        const row = this.rowForReceipt(uid, ref, runs);
        if (row === "stale") return STALE;
        if (!row || row.state === ACKED) return notInFlight("the message is already acked");
        if (row.state === ENDED) return notInFlight(ENDED_TEXT);
        if (row.state === MOVING) return notInFlight(MOVING_TEXT);
        if (row.nonce !== ref.nonce) return STALE;
        if (row.state === DELAYED) return notInFlight("the message was nacked");
        this.sql.exec(SQL.deliverySetState, LEASED, dueAt, uid, ref.offset);
        // observe:
        this.trace.record(ref.offset, uid, now, "extended", row.attempt, { lease_end: dueAt });
        return OK;
      });
    });
  }

  /**
   * Cancels the messages with this id that no subscription has received yet: they are never
   * delivered. Refused (`message_delivered`) if any subscription has received one of them.
   */
  cancel(id: string): CancelOutcome {
    const now = this.clock.now();
    return this.transaction((): CancelOutcome => {
      const offsets = this.segments.byId(id).filter((o) => this.segments.markOf(o) === null);
      if (offsets.length === 0) return { ok: false, code: "message_not_found" };
      for (const offset of offsets) {
        const producedAt = this.segments.at(offset)!.producedAt;
        for (const [uid, sub] of this.subscriptions) {
          // A subscription created after the message was produced never sees it.
          if (sub.sinceMs > producedAt) continue;
          const place = this.place(uid, offset);
          if (place.kind === "new") continue;
          if (place.kind !== "row" || place.row.attempt > 0) return { ok: false, code: "message_delivered" };
        }
      }
      for (const offset of offsets) {
        this.sql.exec(SQL.deliveriesDeleteForOffset, offset);
        this.segments.mark(offset, "cancelled");
        for (const uid of this.subscriptions.keys()) this.exceptions.refreshKey(uid, this.segments.at(offset)?.key ?? "");
        // observe:
        this.trace.record(offset, "", now, "cancelled");
      }
      return { ok: true, cancelled: offsets.length };
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
    const from = this.transaction(() => {
      let from: number;
      if (target.to === "earliest") from = 0;
      else if (target.to === "latest") from = this.nextOffset();
      else if (target.to === "offset") from = target.offset;
      else from = this.segments.firstOffsetSince(target.atMs);
      from = Math.min(from, this.nextOffset());
      this.sql.exec(SQL.deliveriesDeleteForSubscription, uid);
      this.runs.deleteRuns(uid);
      if (sub.mode === "shared") this.runs.setCursor(uid, from);
      this.backfill(uid, sub.mode, from, now, 0);
      return from;
    });
    this.filterResume.forget(uid);
    return from;
  }

  /**
   * Does what time has made due, and returns the subscriptions that gained ready messages:
   * delayed messages become ready; a lease that ended is retried (after the back-off) or, at
   * its last attempt, dead-lettered; an unleased message past its TTL is dropped or
   * dead-lettered, as the topic says.
   */
  processDue(): string[] {
    const now = this.clock.now();
    return this.transaction(() => {
      const woken = new Set(this.sql.exec<{ sub: string }>(SQL.delayedDue, now).toArray().map((r) => r.sub));
      if (woken.size > 0) this.sql.exec(SQL.delayedPromote, now);
      for (const uid of woken) if (this.subscriptions.get(uid)?.mode === "ordered") this.sql.exec(SQL.readyNotHead, uid);
      // A run whose lease ended: its messages get rows of their own, leased as they were, and
      // are retried below like any other lease that ended (a retry costs a row, as it should).
      for (const { uid, run } of this.runs.due(now, DUE_BATCH_RUNS)) {
        if (!this.subscriptions.has(uid)) continue;
        // observe:
        for (const offset of run.held) this.trace.record(offset, uid, now, "lease_expired", 1);
        if (this.failFromRun(uid, run, run.held, { delayMs: null, deadLetter: false, reason: null }, now)) woken.add(uid);
      }
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
          this.exceptions.refreshKey(row.sub, this.segments.at(row.offset)?.key ?? "");
          // observe:
          this.trace.record(row.offset, row.sub, now, "expired");
        }
      }
      // New messages past their TTL at a cursor: the cursor moves past them.
      for (const [uid, sub] of this.subscriptions) if (sub.mode === "shared") this.expireAtCursor(uid, now);
      return [...woken];
    });
  }

  /** Moves `uid`'s cursor past the expired and skipped messages in front of it (one walk, bounded). */
  private expireAtCursor(uid: string, now: number): void {
    const readTo = this.runs.cursor(uid);
    if (readTo >= this.nextOffset()) return;
    const expired: StoredMessage[] = [];
    let live: number | null = null;
    const walkedTo = this.walkNew(uid, readTo, LEASE_SCAN_SEGMENTS, (m) => {
      if (m.expiresAt > 0 && m.expiresAt <= now) {
        expired.push(m);
        return true;
      }
      live = m.offset;
      return false;
    });
    for (const m of expired) this.expireNew(uid, m, now);
    this.runs.setCursor(uid, live ?? walkedTo);
  }

  /**
   * After attempt `attempt` of a delivery failed: dead-letter it if that was the last
   * attempt and a dead-letter topic is known, else make it ready after `delayMs` (or the
   * subscription's back-off). Returns the row's new state, or null when dead-lettered.
   */
  private retryOrDeadLetter(uid: string, offset: number, attempt: number, delayMs: number | null, now: number): number | null {
    const next = this.afterFailure(uid, attempt, delayMs, now);
    if (!next) {
      this.moveToDeadLetter(uid, offset, "max_deliveries", now);
      return null;
    }
    this.sql.exec(SQL.deliverySetState, next.state, next.dueAt, uid, offset);
    return next.state;
  }

  /** What follows a failed attempt: null to dead-letter (the last attempt), else ready or delayed. */
  private afterFailure(uid: string, attempt: number, delayMs: number | null, now: number): { state: number; dueAt: number } | null {
    const policy = this.subscriptions.get(uid)?.policy ?? null;
    if (policy?.deadLetter && attempt >= policy.maxDeliveries) return null;
    const wait = delayMs ?? (policy ? backoffMs(policy, attempt) : 0);
    return wait > 0 ? { state: DELAYED, dueAt: now + wait } : { state: READY, dueAt: 0 };
  }

  /**
   * Messages of a run whose lease failed (nacked, or the lease ended): each gets its row once,
   * in the state that follows (ready, delayed, or ended with its dead letter in the outbox), and
   * the run lets go of them in one update. Returns whether any became ready.
   */
  private failFromRun(uid: string, run: Run, offsets: readonly number[], failure: { delayMs: number | null; deadLetter: boolean; reason: string | null }, now: number): boolean {
    let ready = false;
    for (const offset of offsets) {
      const m = this.segments.at(offset);
      if (!m) continue;
      const next = failure.deadLetter ? null : this.afterFailure(uid, 1, failure.delayMs, now);
      this.exceptions.insert(uid, [
        // The run's nonce stays: its receipt may still ack (nobody received the message since) or repeat the nack.
        { ...seedOf(m, "shared", now), state: next?.state ?? ENDED, dueAt: next?.dueAt ?? 0, attempt: 1, nonce: next ? run.nonce : null, nackReason: failure.reason },
      ]);
      if (!next) this.deadLetterOut(uid, m, 1, failure.reason, failure.deadLetter ? "rejected" : "max_deliveries", now);
      else if (next.state === READY) ready = true;
    }
    const gone = new Set(offsets);
    this.runs.setHeld(uid, run, run.held.filter((o) => !gone.has(o)));
    return ready;
  }

  /**
   * Takes a message out of a subscription's delivery state and, in the same transaction,
   * puts its dead letter (policy.ts deadLetterMessage) in the outbox. The partition then appends
   * the outbox to the dead-letter topic (Partition.forwardDeadLetters), deduplicated by the dead
   * letter's key, so a message is never deliverable in both places and never lost between them.
   */
  private moveToDeadLetter(uid: string, offset: number, reason: DeadLetterReason, now: number): void {
    const row = this.sql
      .exec<{ attempt: number; nack_reason: string | null }>(SQL.deliveryForDeadLetter, uid, offset)
      .toArray()[0];
    const m = this.segments.at(offset);
    if (!row || !m) return;
    this.sql.exec(SQL.deliveryEnd, uid, offset);
    this.exceptions.refreshKey(uid, m.key ?? "");
    this.deadLetterOut(uid, m, row.attempt, row.nack_reason, reason, now);
  }

  /** Puts the dead letter of `m` (its row already ended) in the outbox, in the caller's transaction. */
  private deadLetterOut(uid: string, m: StoredMessage, attempt: number, nackReason: string | null, reason: DeadLetterReason, now: number): void {
    // observe:
    this.metrics.add(uid, "dead_lettered", 1, reason);
    this.trace.record(m.offset, uid, now, "dead_lettered", attempt, { reason });
    const source = {
      offset: m.offset,
      originPartition: m.originPartition,
      originOffset: m.originOffset,
      id: m.id,
      key: m.key,
      headers: m.headers,
      body: m.body,
      priority: m.priority,
      attempt,
      nackReason,
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
    this.deadLettered = true;
  }

  /** Whether a call since the last ask put dead letters in the outbox (then they are sent at once). */
  tookDeadLetters(): boolean {
    const took = this.deadLettered;
    this.deadLettered = false;
    return took;
  }

  /** observe: the newest message with this id, with its trace (trace.ts); null if none here. */
  traceOf(id: string): MessageTrace | null {
    const offset = this.segments.byId(id)[0];
    const message = offset === undefined ? null : this.segments.at(offset);
    if (!message) return null;
    const cancelled = this.segments.markOf(message.offset) === "cancelled";
    const deliveries = new Map<string, TracedDelivery>();
    const acked = new Map<string, { leasedAt: number; ackedAt: number }>();
    for (const uid of this.subscriptions.keys()) {
      const place = this.place(uid, message.offset);
      if (place.kind === "row" && place.row.state < ENDED) deliveries.set(uid, { state: place.row.state, dueAt: place.row.due_at, attempt: place.row.attempt });
      else if (place.kind === "run") deliveries.set(uid, { state: LEASED, dueAt: place.run.dueAt, attempt: 1, leasedAt: place.run.leasedAt });
      else if (place.kind === "new") deliveries.set(uid, { state: READY, dueAt: 0, attempt: 0 });
      else if (place.kind === "done") {
        const history = this.runs.historyOf(uid, message.offset);
        if (history) acked.set(uid, history);
      }
    }
    const subs = [...this.subscriptions].map(([uid, s]) => ({ uid, mode: s.mode, sinceMs: s.sinceMs }));
    return this.trace.traceOf({ ...message, cancelled }, deliveries, subs, this.clock.now(), acked);
  }

  policyOf(uid: string): DeliveryPolicy | null {
    return this.subscriptions.get(uid)?.policy ?? null;
  }

  /**
   * Deletes whole segments past the retention that no subscription still needs (retention.ts).
   * Returns how many messages it deleted.
   */
  enforceRetention(): number {
    const retentionMs = this.topicPolicy.retentionMs;
    const now = this.clock.now();
    return this.transaction(() => {
      const deleted = this.retention.enforce(
        {
          segments: this.segments,
          floorOfAll: () => this.floorOfAll(),
          holdsAny: (first, last) => this.holdsAny(first, last),
          deleteSegment: (first, last) => this.deleteSegment(first, last),
        },
        retentionMs,
        now,
      );
      // Once per pass, not per segment deleted.
      if (deleted > 0) this.segments.pruneDedupBlocks();
      return deleted;
    });
  }

  private deleteSegment(first: number, last: number): void {
    for (const uid of this.subscriptions.keys()) {
      this.exceptions.forgetEnded(uid, first, last);
      this.runs.forgetHistory(uid, first, last);
    }
    this.segments.delete(first, last);
    // observe: a message's events last as long as the message.
    this.trace.forgetRange(first, last);
  }

  /** Whether some subscription still needs a message in [first, last]. */
  private holdsAny(first: number, last: number): boolean {
    for (const [uid, sub] of this.subscriptions) {
      if (this.exceptions.liveIn(uid, first, last)) return true;
      if (sub.mode === "shared" && this.runs.cursor(uid) <= last) return true;
    }
    return this.subscriptions.size > 0 && this.runs.holdsAny(first, last);
  }

  /**
   * When something next falls due here: a delayed message, a lease's end, a TTL, or the
   * oldest message's end of retention. Null if nothing will.
   */
  nextDueAt(): number | null {
    const first = (query: string, ...params: number[]): number | null =>
      this.sql.exec<{ due: number }>(query, ...params).toArray()[0]?.due ?? null;
    const now = this.clock.now();
    const times = [
      first(SQL.nextDueOfState, DELAYED),
      first(SQL.nextDueOfState, LEASED),
      first(SQL.nextExpiry),
      this.runs.nextDue(),
      this.retention.nextDueAt(this.segments.oldestProducedAt(), this.topicPolicy.retentionMs, now),
    ];
    if (this.overflowPending) times.push(now);
    const due = times.filter((t): t is number => t !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  stats(): PartitionStats {
    const log = this.segments.stats();
    const next = this.nextOffset();
    const counts = new Map<string, SubscriptionCounts>();
    for (const uid of this.subscriptions.keys()) {
      counts.set(uid, { uid, ready: 0, delayed: 0, inFlight: 0, oldestUnackedAt: null, deadLettersPending: 0, moving: 0 });
    }
    for (const row of this.sql.exec<{ sub: string; state: number; n: number }>(SQL.statsStates)) {
      const c = counts.get(row.sub);
      if (!c) continue;
      if (row.state === READY || row.state === HELD) c.ready += row.n;
      else if (row.state === DELAYED) c.delayed = row.n;
      else if (row.state === LEASED) c.inFlight = row.n;
      else if (row.state === MOVING) c.moving = row.n;
    }
    for (const [uid, c] of counts) {
      if (this.subscriptions.get(uid)!.mode === "shared") {
        // New: everything past the cursor without a row or a mark.
        const readTo = this.runs.cursor(uid);
        if (readTo < next) {
          const owned = this.exceptions.countFrom(uid, readTo);
          const marked = this.sql.exec<{ n: number }>(SQL.marksFrom, readTo).one().n;
          c.ready += Math.max(0, next - readTo - owned - marked);
        }
        for (const run of this.runs.of(uid)) c.inFlight += run.held.length;
      }
      const floor = this.floor(uid);
      c.oldestUnackedAt = floor === null ? null : (this.segments.at(floor)?.producedAt ?? null);
    }
    for (const [uid, n] of this.outbox.counts()) {
      const c = counts.get(uid);
      if (c) c.deadLettersPending = n;
    }
    return {
      nextOffset: next,
      firstOffset: log.first,
      messages: log.messages,
      bytes: log.bytes,
      subscriptions: [...counts.values()],
      // observe:
      observed: { counters: this.metrics.all(), deadLetters: this.trace.deadLetterCounts(this.segments) },
    };
  }

  /** Where message `offset` stands for `uid` (see Place). */
  private place(uid: string, offset: number): Place {
    const row = this.exceptions.get(uid, offset);
    if (row) return { kind: "row", row };
    if (this.subscriptions.get(uid)?.mode !== "shared") return { kind: "done" };
    const run = this.runsOf(uid).find((r) => r.held.includes(offset));
    if (run) return { kind: "run", run };
    return this.isNew(uid, offset) ? { kind: "new" } : { kind: "done" };
  }

  /**
   * Whether `offset`, which has no row for `uid` (every caller has looked), is new for shared
   * subscription `uid`: at or past its cursor, held, unmarked.
   */
  private isNew(uid: string, offset: number): boolean {
    if (this.subscriptions.get(uid)?.mode !== "shared") return false;
    if (offset < this.runs.cursor(uid) || offset >= this.nextOffset()) return false;
    if (this.segments.markOf(offset) !== null) return false;
    return this.segments.at(offset) !== null;
  }

  /**
   * Gives message `offset` of `uid` a row of its own, taking it out of its run (leased as it
   * was) or out of the new messages (ready): the rare operations (nack, dead-lettering, surge,
   * cancel) then work on rows alone. Returns the row, or null when the message is done.
   */
  private materialize(uid: string, offset: number, now: number): ExceptionRow | null {
    const place = this.place(uid, offset);
    if (place.kind === "row") return place.row;
    if (place.kind === "done") return null;
    const m = this.segments.at(offset)!;
    const seed = seedOf(m, "shared", now);
    if (place.kind === "run") {
      Object.assign(seed, { state: LEASED, dueAt: place.run.dueAt, attempt: 1, nonce: place.run.nonce });
      this.runs.setHeld(uid, place.run, place.run.held.filter((o) => o !== offset));
    }
    this.exceptions.insert(uid, [seed]);
    return { state: seed.state, nonce: seed.nonce, attempt: seed.attempt, due_at: seed.dueAt, okey: seed.okey };
  }

  /** The row a receipt names, made from its run if need be; "stale" for a run's other lease or a new message. */
  private rowForReceipt(uid: string, ref: ReceiptRef, runs: Run[]): ExceptionRow | "stale" | null {
    const row = this.exceptions.get(uid, ref.offset);
    if (row) return row;
    const run = runs.find((r) => r.held.includes(ref.offset));
    if (run) {
      if (run.nonce !== ref.nonce) return "stale";
      return this.materialize(uid, ref.offset, this.clock.now());
    }
    return this.isNew(uid, ref.offset) ? "stale" : null;
  }

  /** The runs of `uid` (only those that may hold one of `refs`' offsets, when given). */
  private runsOf(uid: string, refs?: readonly ReceiptRef[]): Run[] {
    if (this.subscriptions.get(uid)?.mode !== "shared") return [];
    if (!refs) return this.runs.of(uid);
    if (refs.length === 0) return [];
    const offsets = refs.map((r) => r.offset);
    return this.runs.overlapping(uid, Math.min(...offsets), Math.max(...offsets));
  }

  /** The new messages of shared subscription `uid` not past their TTL, oldest first, at most `limit` (a bounded walk). */
  newMessages(uid: string, limit: number, now: number): StoredMessage[] {
    const fresh: StoredMessage[] = [];
    if (this.subscriptions.get(uid)?.mode !== "shared" || limit <= 0) return fresh;
    this.walkNew(uid, this.runs.cursor(uid), LEASE_SCAN_SEGMENTS, (m) => {
      if (m.expiresAt === 0 || m.expiresAt > now) fresh.push(m);
      return fresh.length < limit;
    });
    return fresh;
  }
}

interface Candidates {
  /** The best candidates, at most the limit asked. */
  list: Candidate[];
  /** The new messages the walk found (matching the filter), in offset order. */
  newList: StoredMessage[];
  /** New messages past their TTL that the walk met. */
  expired: StoredMessage[];
  /** Where the walk of new messages stopped; null for an ordered subscription (no walk). */
  walkedTo: number | null;
  /** Whether the walk stopped at its bound of segments, not at the limit or the end. */
  truncated: boolean;
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
