import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type {
  AppendOutcome,
  CancelOutcome,
  HeaderFilter,
  LeaseOutcome,
  NewMessage,
  PartitionStats,
  ReceiptOutcome,
  ReceiptRef,
  SeekTarget,
  SubscriptionSpec,
} from "../shared/partition-api";
import { systemClock, type Clock } from "./clock";
import { PartitionLog } from "./log";
import { migrate } from "./schema";
import { Waiters } from "./waiters";

const DELETED: { ok: false; code: "topic_deleted" } = { ok: false, code: "topic_deleted" };

/**
 * One partition of a topic: a thin RPC surface over its log (log.ts), its long-poll waiters
 * and one alarm for the next due time (a delayed message becoming ready or a lease ending).
 * Expected failures come back as values; only `name` and `message` of a throw cross RPC.
 */
export class Partition extends DurableObject<Env> {
  /** Replaced by tests to move time; see test/helpers. */
  clock: Clock = systemClock;
  private readonly log: PartitionLog;
  private readonly waiters = new Waiters();
  /** The alarm time this instance last set, so that unchanged times cost no storage call. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage);
    this.log = new PartitionLog(ctx.storage, { now: () => this.clock.now() });
  }

  /** Appends a batch in one transaction. `dedupWindowMs`: how far back a producer id counts. */
  async append(messages: NewMessage[], dedupWindowMs: number): Promise<AppendOutcome> {
    if (this.log.isDeleted()) return DELETED;
    const appended = this.log.append(messages, dedupWindowMs);
    if (messages.some((m) => m.delayMs > 0)) await this.scheduleAlarm();
    this.waiters.wakeAll();
    return { ok: true, appended };
  }

  /** Starts serving a subscription (idempotent). */
  async subscribe(spec: SubscriptionSpec): Promise<void> {
    if (!this.log.isDeleted()) this.log.subscribe(spec);
  }

  /** Forgets a subscription and its delivery state (idempotent). */
  async unsubscribe(uid: string): Promise<void> {
    this.log.unsubscribe(uid);
    this.waiters.wake(uid);
    await this.scheduleAlarm();
  }

  /**
   * Leases up to `max` messages (matching `filter`, if given) for `visibilityMs` milliseconds.
   * `max` 0 only reports, in `more`, whether anything is deliverable.
   */
  async lease(
    spec: SubscriptionSpec,
    max: number,
    visibilityMs: number,
    filter: HeaderFilter | null = null,
  ): Promise<LeaseOutcome> {
    if (this.log.isDeleted()) return DELETED;
    this.prepare(spec);
    const result = this.log.lease(spec.uid, max, visibilityMs, filter);
    if (result.messages.length > 0) await this.scheduleAlarm();
    return { ok: true, ...result };
  }

  /**
   * Resolves true as soon as `spec` has a deliverable message here, or false after `waitMs`.
   * Leases nothing: the caller follows up with `lease`.
   */
  async awaitDeliverable(spec: SubscriptionSpec, waitMs: number, filter: HeaderFilter | null = null): Promise<boolean> {
    if (this.log.isDeleted()) return false;
    this.prepare(spec);
    if (this.log.hasDeliverable(spec.uid, filter)) return true;
    return this.waiters.wait(spec.uid, waitMs);
  }

  /** Cancels the not yet received messages with this id. */
  async cancel(id: string): Promise<CancelOutcome> {
    if (this.log.isDeleted()) return DELETED;
    const outcome = this.log.cancel(id);
    if (outcome.ok) await this.scheduleAlarm();
    return outcome;
  }

  /** Moves the subscription's position here; returns the offset it now starts at. */
  async seek(spec: SubscriptionSpec, target: SeekTarget): Promise<number> {
    this.log.subscribe(spec);
    const from = this.log.seek(spec.uid, target);
    this.promote();
    await this.scheduleAlarm();
    this.waiters.wake(spec.uid);
    return from;
  }

  async ack(uid: string, refs: ReceiptRef[]): Promise<ReceiptOutcome[]> {
    return this.log.ack(uid, refs);
  }

  /** Releases leases now, or after `delayMs`. */
  async nack(uid: string, refs: ReceiptRef[], delayMs: number): Promise<ReceiptOutcome[]> {
    const outcomes = this.log.nack(uid, refs, delayMs);
    await this.scheduleAlarm();
    if (delayMs === 0) this.waiters.wake(uid);
    return outcomes;
  }

  /** Sets leases to end `visibilityMs` from now. */
  async extend(uid: string, refs: ReceiptRef[], visibilityMs: number): Promise<ReceiptOutcome[]> {
    const outcomes = this.log.extend(uid, refs, visibilityMs);
    await this.scheduleAlarm();
    return outcomes;
  }

  async stats(): Promise<PartitionStats> {
    this.promote();
    return this.log.stats();
  }

  /**
   * The cron's safety net: forgets subscriptions that no longer exist, makes due messages
   * ready, wakes their waiters and re-arms the alarm. Returns how many subscriptions gained
   * ready messages.
   */
  async sweep(liveSubscriptionUids: string[]): Promise<{ promoted: number }> {
    const live = new Set(liveSubscriptionUids);
    for (const uid of this.log.subscriptionUids()) if (!live.has(uid)) this.log.unsubscribe(uid);
    const promoted = this.promote();
    this.alarmAt = null;
    await this.scheduleAlarm();
    return { promoted };
  }

  /** Deletes everything and refuses further writes: the topic is gone. */
  async destroy(): Promise<void> {
    this.waiters.wakeAll(false);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    migrate(this.ctx.storage);
    this.log.markDeleted();
    this.alarmAt = null;
  }

  override async alarm(): Promise<void> {
    // The alarm can be the first event after an eviction: the constructor has migrated.
    this.alarmAt = null;
    this.promote();
    await this.scheduleAlarm();
  }

  private prepare(spec: SubscriptionSpec): void {
    this.log.subscribe(spec);
    this.promote();
  }

  private promote(): number {
    const subs = this.log.promoteDue();
    for (const uid of subs) this.waiters.wake(uid);
    return subs.length;
  }

  private async scheduleAlarm(): Promise<void> {
    const next = this.log.nextDueAt();
    if (next === this.alarmAt) return;
    this.alarmAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}
