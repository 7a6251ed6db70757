import type {
  Appended,
  CancelOutcome,
  HeaderFilter,
  LeasedMessage,
  NewMessage,
  PartitionStats,
  ReceiptOutcome,
  ReceiptRef,
  SubscriptionCounts,
  SubscriptionMode,
  SeekTarget,
  SubscriptionSpec,
} from "../shared/partition-api";
import { randomToken } from "../shared/ids";
import type { Clock } from "./clock";
import { candidatesQuery, DELAYED, LEASED, READY, SQL } from "./statements";

interface SubscriptionRow {
  mode: SubscriptionMode;
  sinceMs: number;
}

type CandidateRow = {
  offset: number;
  attempt: number;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  priority: number;
  produced_at: number;
};

/**
 * The ordered log of one partition and, per subscription, the state of every unacked message.
 * Every method is one synchronous transaction: a state change of the log, named as a verb.
 * Times are milliseconds since the epoch, read from the injected clock.
 */
export class PartitionLog {
  private readonly subscriptions = new Map<string, SubscriptionRow>();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: Clock,
  ) {
    for (const row of this.sql.exec<{ uid: string; mode: string; since_ms: number }>(SQL.subscriptionsAll)) {
      this.subscriptions.set(row.uid, { mode: row.mode as SubscriptionMode, sinceMs: row.since_ms });
    }
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private meta(name: string): number | null {
    const row = this.sql.exec<{ value: number }>(SQL.metaGet, name).toArray()[0];
    return row ? row.value : null;
  }

  /** True once the topic has been deleted: the object then refuses all writes. */
  isDeleted(): boolean {
    return this.meta("deleted") === 1;
  }

  markDeleted(): void {
    this.sql.exec(SQL.metaSet, "deleted", 1);
  }

  nextOffset(): number {
    return this.meta("next_offset") ?? 0;
  }

  subscriptionUids(): string[] {
    return [...this.subscriptions.keys()];
  }

  /**
   * Starts serving a subscription here, with a delivery row for every retained message
   * produced at or after `spec.sinceMs`. A known subscription is left as it is.
   * Returns whether it was new.
   */
  subscribe(spec: SubscriptionSpec): boolean {
    if (this.subscriptions.has(spec.uid)) return false;
    this.storage.transactionSync(() => {
      this.sql.exec(SQL.subscriptionInsert, spec.uid, spec.mode, spec.sinceMs);
      this.sql.exec(SQL.deliveriesBackfillSince, spec.uid, spec.mode, spec.sinceMs, this.clock.now());
    });
    this.subscriptions.set(spec.uid, { mode: spec.mode, sinceMs: spec.sinceMs });
    return true;
  }

  /** Forgets a subscription and its delivery state. */
  unsubscribe(uid: string): void {
    this.storage.transactionSync(() => {
      this.sql.exec(SQL.subscriptionDelete, uid);
      this.sql.exec(SQL.deliveriesDeleteForSubscription, uid);
    });
    this.subscriptions.delete(uid);
  }

  /**
   * Appends messages in order, with gap-free offsets, and makes each deliverable to every
   * subscription. A message whose producer-chosen id was appended within `dedupWindowMs`
   * is not stored again: its first copy's offset comes back with `duplicate: true`.
   */
  append(messages: readonly NewMessage[], dedupWindowMs: number): Appended[] {
    const now = this.clock.now();
    return this.storage.transactionSync(() => {
      let next = this.nextOffset();
      const appended: Appended[] = [];
      for (const m of messages) {
        if (m.idFromProducer) {
          const first = this.sql
            .exec<{ offset: number; produced_at: number }>(SQL.logFindDuplicate, m.id, now - dedupWindowMs)
            .toArray()[0];
          if (first) {
            appended.push({ offset: first.offset, producedAt: first.produced_at, duplicate: true });
            continue;
          }
        }
        const offset = next++;
        const bytes = m.body.length + (m.headers?.length ?? 0) + (m.key?.length ?? 0) + m.id.length;
        const dueAt = m.delayMs > 0 ? now + m.delayMs : 0;
        this.sql.exec(
          SQL.logInsert,
          offset,
          m.id,
          m.key,
          m.headers,
          m.body,
          m.priority,
          now,
          dueAt,
          m.idFromProducer ? 1 : 0,
          bytes,
        );
        const state = m.delayMs > 0 ? DELAYED : READY;
        for (const [uid, sub] of this.subscriptions) {
          const priority = sub.mode === "ordered" ? 0 : m.priority;
          this.sql.exec(SQL.deliveryInsert, uid, offset, state, dueAt, m.key ?? "", priority);
        }
        appended.push({ offset, producedAt: now, duplicate: false });
      }
      this.sql.exec(SQL.metaSet, "next_offset", next);
      return appended;
    });
  }

  /**
   * Leases up to `max` deliverable messages (matching `filter`) to one consumer of `uid` for
   * `visibilityMs`. Returns them with their new attempt number and nonce, and whether more
   * were deliverable.
   */
  lease(
    uid: string,
    max: number,
    visibilityMs: number,
    filter: HeaderFilter | null = null,
  ): { messages: LeasedMessage[]; more: boolean } {
    if (!this.subscriptions.has(uid)) return { messages: [], more: false };
    const now = this.clock.now();
    return this.storage.transactionSync(() => {
      const rows = this.candidates(uid, max + 1, filter);
      const more = rows.length > max;
      const messages: LeasedMessage[] = [];
      for (const row of rows.slice(0, max)) {
        const nonce = randomToken(12);
        this.sql.exec(SQL.deliveryLease, now + visibilityMs, nonce, uid, row.offset);
        messages.push({
          offset: row.offset,
          id: row.id,
          key: row.key,
          headers: row.headers,
          body: row.body,
          priority: row.priority,
          producedAt: row.produced_at,
          attempt: row.attempt + 1,
          nonce,
        });
      }
      return { messages, more };
    });
  }

  /** Whether `uid` has a message (matching `filter`) that it could lease now. */
  hasDeliverable(uid: string, filter: HeaderFilter | null = null): boolean {
    return this.candidates(uid, 1, filter).length > 0;
  }

  private candidates(uid: string, limit: number, filter: HeaderFilter | null): CandidateRow[] {
    const sub = this.subscriptions.get(uid);
    if (!sub) return [];
    const pairs = filter ? Object.entries(filter) : [];
    const query = candidatesQuery(sub.mode === "ordered", pairs.length);
    return this.sql.exec<CandidateRow>(query, uid, limit, ...pairs.flat()).toArray();
  }

  /**
   * Cancels the messages with this id that no subscription has received yet: they are never
   * delivered. Refused (`message_delivered`) if any subscription has received one of them.
   */
  cancel(id: string): CancelOutcome {
    return this.storage.transactionSync(() => {
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
   * Acks deliveries. Idempotent: a message already acked answers ok. A receipt whose message
   * was delivered again since is refused (`receipt_stale`) and changes nothing.
   */
  ack(uid: string, refs: readonly ReceiptRef[]): ReceiptOutcome[] {
    return this.storage.transactionSync(() =>
      refs.map((ref) => {
        const row = this.delivery(uid, ref.offset);
        if (!row) return ref.offset < this.nextOffset() ? OK : notInFlight("no such message");
        if (row.nonce !== ref.nonce) return STALE;
        this.sql.exec(SQL.deliveryDelete, uid, ref.offset);
        return OK;
      }),
    );
  }

  /**
   * Ends leases early: the message is deliverable again now, or after `delayMs`.
   * Repeating a nack of the same receipt answers ok and changes nothing.
   */
  nack(uid: string, refs: readonly ReceiptRef[], delayMs: number): ReceiptOutcome[] {
    const now = this.clock.now();
    return this.storage.transactionSync(() =>
      refs.map((ref) => {
        const row = this.delivery(uid, ref.offset);
        if (!row) return notInFlight("the message is already acked");
        if (row.nonce !== ref.nonce) return STALE;
        if (row.state !== LEASED) return OK;
        if (delayMs > 0) this.sql.exec(SQL.deliverySetState, DELAYED, now + delayMs, uid, ref.offset);
        else this.sql.exec(SQL.deliverySetState, READY, 0, uid, ref.offset);
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
        if (row.nonce !== ref.nonce) return STALE;
        if (row.state === DELAYED) return notInFlight("the message was nacked");
        this.sql.exec(SQL.deliverySetState, LEASED, now + visibilityMs, uid, ref.offset);
        return OK;
      }),
    );
  }

  /**
   * Makes delayed messages whose time has come, and leased ones whose lease ended, ready.
   * Returns the subscriptions that gained ready messages.
   */
  promoteDue(): string[] {
    const now = this.clock.now();
    return this.storage.transactionSync(() => {
      const subs = this.sql.exec<{ sub: string }>(SQL.dueSubscriptions, now).toArray();
      if (subs.length > 0) this.sql.exec(SQL.duePromote, now);
      return subs.map((row) => row.sub);
    });
  }

  /** When the next delayed message or lease is due, or null. */
  nextDueAt(): number | null {
    return this.sql.exec<{ due: number | null }>(SQL.nextDue).one().due;
  }

  stats(): PartitionStats {
    const log = this.sql
      .exec<{ messages: number; bytes: number; first: number | null }>(SQL.statsLog)
      .one();
    const counts = new Map<string, SubscriptionCounts>();
    for (const uid of this.subscriptions.keys()) {
      counts.set(uid, { uid, ready: 0, delayed: 0, inFlight: 0, oldestUnackedAt: null });
    }
    for (const row of this.sql.exec<{ sub: string; state: number; n: number }>(SQL.statsStates)) {
      const c = counts.get(row.sub);
      if (!c) continue;
      if (row.state === READY) c.ready = row.n;
      else if (row.state === DELAYED) c.delayed = row.n;
      else if (row.state === LEASED) c.inFlight = row.n;
    }
    for (const row of this.sql.exec<{ sub: string; oldest: number }>(SQL.statsOldest)) {
      const c = counts.get(row.sub);
      if (c) c.oldestUnackedAt = row.oldest;
    }
    return {
      nextOffset: this.nextOffset(),
      firstOffset: log.first,
      messages: log.messages,
      bytes: log.bytes,
      subscriptions: [...counts.values()],
    };
  }

  private delivery(uid: string, offset: number): { state: number; nonce: string | null } | undefined {
    return this.sql.exec<{ state: number; nonce: string | null }>(SQL.deliveryGet, uid, offset).toArray()[0];
  }
}

const OK: ReceiptOutcome = { ok: true };
const STALE: ReceiptOutcome = {
  ok: false,
  code: "receipt_stale",
  message: "the receipt is from an earlier delivery; the message has been delivered again since",
};
function notInFlight(message: string): ReceiptOutcome {
  return { ok: false, code: "not_in_flight", message };
}
