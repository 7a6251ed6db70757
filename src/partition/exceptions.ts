import type { SubscriptionMode } from "../shared/partition-api";
import type { StoredMessage } from "./segments";
import { DELAYED, HELD, READY, SQL } from "./statements";

// The rows of `deliveries`: a message's own row for one subscription, for what the cursor and
// runs cannot describe (docs/storage.md): delays, priorities, retries, ordered subscriptions,
// filtered leases, surge moves, ends. Here: writing them, reading them by message, and keeping
// an ordered subscription's keys in order. The state machine that moves them is log.ts's.

/** A message's own row, as read. */
export type ExceptionRow = { state: number; nonce: string | null; attempt: number; due_at: number; okey: string };

/** A row to write. */
export interface ExceptionSeed {
  offset: number;
  state: number;
  dueAt: number;
  attempt: number;
  nonce: string | null;
  okey: string;
  priority: number;
  expiresAt: number;
  nackReason: string | null;
}

/** The row a message gets for a subscription at `now`: delayed until deliverAt, or ready. */
export function seedOf(m: StoredMessage, mode: SubscriptionMode, now: number): ExceptionSeed {
  const delayed = m.deliverAt > now;
  return {
    offset: m.offset,
    state: delayed ? DELAYED : READY,
    dueAt: delayed ? m.deliverAt : 0,
    attempt: 0,
    nonce: null,
    okey: m.key ?? "",
    priority: mode === "ordered" ? 0 : m.priority,
    expiresAt: m.expiresAt,
    nackReason: null,
  };
}

export class Exceptions {
  /**
   * Per subscription, an offset that no row of it lies above (-1: it has none): read when the
   * subscription becomes known here, raised by every row written since, never lowered. The
   * usual message of a shared subscription has no row, so the lease's and the ack's queries for
   * rows are skipped where this says they would find none. Never lowered, it stays true when a
   * transaction that deleted rows rolls back.
   */
  private readonly ceilings = new Map<string, number>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly modeOf: (uid: string) => SubscriptionMode | undefined,
  ) {}

  /** Starts keeping `uid`'s ceiling (one indexed read); called outside any transaction that may roll back. */
  track(uid: string): void {
    this.ceilings.set(uid, this.sql.exec<{ top: number | null }>(SQL.rowCeiling, uid).one().top ?? -1);
  }

  untrack(uid: string): void {
    this.ceilings.delete(uid);
  }

  /** No row of `uid` lies above this offset (Infinity while it is not tracked). */
  private ceiling(uid: string): number {
    return this.ceilings.get(uid) ?? Number.POSITIVE_INFINITY;
  }

  private raise(uid: string, offset: number): void {
    const ceiling = this.ceilings.get(uid);
    if (ceiling !== undefined && offset > ceiling) this.ceilings.set(uid, offset);
  }

  /**
   * Writes `seeds` for `uid` in one statement. For an ordered subscription, a ready row behind
   * an earlier live message of its key (here or earlier in `seeds`) is written held.
   */
  insert(uid: string, seeds: readonly ExceptionSeed[]): void {
    if (seeds.length === 0) return;
    for (const seed of seeds) this.raise(uid, seed.offset);
    if (this.modeOf(uid) === "ordered") {
      const busy = new Set<string>();
      for (const seed of seeds) {
        if (seed.state === READY && (busy.has(seed.okey) || this.sql.exec(SQL.keyBusy, uid, seed.okey).toArray().length > 0)) seed.state = HELD;
        busy.add(seed.okey);
      }
    }
    const values = seeds.map((s) => [s.offset, s.state, s.dueAt, s.attempt, s.nonce, s.okey, s.priority, s.expiresAt, s.nackReason]);
    this.sql.exec(SQL.exceptionsInsert, uid, JSON.stringify(values));
  }

  /**
   * A message's row back as it was before it was dead-lettered, or a row of its own again (a
   * redrive: src/partition/redrives.ts).
   */
  restore(uid: string, offset: number, okey: string, priority: number): void {
    this.raise(uid, offset);
    this.sql.exec(SQL.deliveryRestore, uid, offset, okey, priority);
  }

  get(uid: string, offset: number): ExceptionRow | undefined {
    if (offset > this.ceiling(uid)) return undefined;
    return this.sql.exec<ExceptionRow>(SQL.deliveryGet, uid, offset).toArray()[0];
  }

  /** The rows of these offsets, in one query (none when every offset lies above the ceiling). */
  ofOffsets(uid: string, offsets: readonly number[]): Map<number, ExceptionRow> {
    const ceiling = this.ceiling(uid);
    if (offsets.every((offset) => offset > ceiling)) return new Map();
    const rows = this.sql.exec<ExceptionRow & { offset: number }>(SQL.deliveriesGet, uid, JSON.stringify(offsets)).toArray();
    return new Map(rows.map((r) => [r.offset, r]));
  }

  /** Offsets in [from, to] that have a row (any state). */
  offsetsIn(uid: string, from: number, to: number): Set<number> {
    if (from > this.ceiling(uid)) return new Set();
    return new Set(this.sql.exec<{ offset: number }>(SQL.exceptionsInRange, uid, from, to).toArray().map((r) => r.offset));
  }

  /** Whether `uid` may have rows at all: false only when it has never had one since it was tracked. */
  mayHaveRows(uid: string): boolean {
    return this.ceiling(uid) >= 0;
  }

  /** Whether a live row (not ended, not acked) of `uid` lies in [first, last]. */
  liveIn(uid: string, first: number, last: number): boolean {
    return this.sql.exec(SQL.liveRowInRange, uid, first, last).toArray().length > 0;
  }

  /** The offset of `uid`'s first live row; null if none. */
  firstLive(uid: string): number | null {
    return this.sql.exec<{ offset: number | null }>(SQL.subscriptionOldestOffset, uid).one().offset;
  }

  /** How many rows of `uid` (any state) lie at or past `from`. */
  countFrom(uid: string, from: number): number {
    return this.sql.exec<{ n: number }>(SQL.rowsFrom, uid, from).one().n;
  }

  /** Retention deleted [first, last]: the ended and acked rows there go too. */
  forgetEnded(uid: string, first: number, last: number): void {
    this.sql.exec(SQL.endedDeleteInRange, uid, first, last);
  }

  /**
   * After the head of an ordering key may have left (acked, dead-lettered, expired, cancelled,
   * or a redrive brought an older one back): the oldest live row of the key is the only one
   * ready. Two rows read through the key's index; nothing for a shared subscription.
   */
  refreshKey(uid: string, okey: string): void {
    if (this.modeOf(uid) !== "ordered") return;
    const [head, next] = this.sql.exec<{ offset: number; state: number }>(SQL.keyHead, uid, okey).toArray();
    if (head?.state === HELD) this.sql.exec(SQL.deliverySetState, READY, 0, uid, head.offset);
    if (next?.state === READY) this.sql.exec(SQL.deliverySetState, HELD, 0, uid, next.offset);
  }
}
