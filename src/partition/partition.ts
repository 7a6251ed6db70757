import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { partitionForKey } from "../shared/hash";
import type {
  AppendOutcome,
  BellAddress,
  CancelOutcome,
  DeadLetterBrowse,
  DeadLetterEntry,
  MessageTrace,
  HeaderFilter,
  LeaseOutcome,
  NackOptions,
  NewMessage,
  PartitionContext,
  PartitionStats,
  ReceiptOutcome,
  ReceiptRef,
  RedriveItem,
  RedrivePage,
  RedriveRequest,
  SeekTarget,
  SubscriptionSpec,
  SurgeTarget,
} from "../shared/partition-api";
import { partitionName, SURGE_INDEX_BASE, surgePartitionName } from "../shared/object-names";
import {
  MAX_OPEN_TRANSACTIONS_PER_PARTITION,
  MOVING_STALE_MS,
  OUTBOX_BATCH_MESSAGES,
  OUTBOX_PAGE_BYTES,
  OUTBOX_RETRY_MS,
  OUTBOX_ROUNDS,
  TRANSACTION_ASK_GRACE_MS,
  TRANSACTION_RETELL_MS,
} from "../shared/limits";
import type {
  ApplyOutcome,
  DecideOutcome,
  DecisionAnswer,
  PrepareOutcome,
  TransactionDecision,
  TransactionOpen,
  TransactionShare,
  TransactionView,
} from "../shared/partition-api";
import { signedPost } from "../shared/outbound";
import { randomToken } from "../shared/ids";
import { Transactions } from "./transactions";
import { Coordinator, type CheckBack } from "./coordinator";
import { systemClock, type Clock } from "../shared/clock";
import { PartitionLog } from "./log";
import { Redrives } from "./redrives";
import { deadLetterKeyPrefix } from "./policy";
import { SurgeMoves } from "./surge-moves";
import { migrate } from "./schema";
import { Waiters } from "./waiters";
import { Bells, type Bell } from "./bells";
import { Seats, type SeatAnswer, type SeatTerms } from "./seats";
import { RowMeter } from "./meter";

const DELETED: { ok: false; code: "topic_deleted" } = { ok: false, code: "topic_deleted" };

/**
 * One partition of a topic: a thin RPC surface over its log (log.ts), its long-poll waiters
 * and one alarm for the next due time (a delayed message, a lease's end, a TTL, retention).
 * Expected failures come back as values; only `name` and `message` of a throw cross RPC.
 */
export class Partition extends DurableObject<Env> {
  /** Replaced by tests to move time; see test/helpers. */
  clock: Clock = systemClock;
  private readonly log: PartitionLog;
  private readonly redrives: Redrives;
  private readonly surgeMoves: SurgeMoves;
  private readonly waiters = new Waiters();
  private readonly seats = new Seats();
  /** Wakes since the object started, and who it is: a seat's quiet mark (quietMark). */
  private wakes = 0;
  private readonly incarnation = randomToken(8);
  private readonly bells: Bells;
  /** The alarm time this instance last set, so that unchanged times cost no storage call. */
  private alarmAt: number | null = null;
  /** Whether alarmAt is the next due time; until then every call checks for due work. */
  private dueKnown = false;
  private forwarding: Promise<void> | null = null;
  private readonly transactions: Transactions;
  private readonly coordinator: Coordinator;
  /** How many open transactions may have this partition as their home; replaced by tests. */
  maxOpenTransactions = MAX_OPEN_TRANSACTIONS_PER_PARTITION;
  /** Sends a transaction check-back; replaced by tests (the outbound seam). */
  checkBack: CheckBack = (url, body) => signedPost(this.env, url, body);
  /** Rows written and read by this object's SQL since it started (docs/storage.md). */
  private readonly meter = new RowMeter();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const storage = this.meter.wrap(ctx.storage);
    migrate(storage);
    const clock = { now: () => this.clock.now() };
    this.log = new PartitionLog(storage, clock, { trace: env.WEIR_TRACE !== "off" });
    this.redrives = new Redrives(storage, this.log, clock);
    this.surgeMoves = new SurgeMoves(storage, clock, this.log);
    this.bells = new Bells(storage.sql);
    this.transactions = new Transactions(storage, clock, this.log);
    this.coordinator = new Coordinator(this.transactions, clock, {
      participant: (index) => {
        const context = this.log.currentContext();
        if (!context) return null;
        return this.env.PARTITION.get(this.env.PARTITION.idFromName(partitionName(context.topicUid, index)));
      },
      checkBack: () => this.checkBack,
      topic: () => this.log.currentContext()?.topic ?? "",
      afterAppend: (messages) => this.afterAppend(messages),
    });
  }

  /**
   * Appends a batch in one transaction. `context` (who this partition is, its topic's rules)
   * is kept for later; an append without one (a dead letter) uses the last one kept.
   */
  async append(messages: NewMessage[], context: PartitionContext | null = null): Promise<AppendOutcome> {
    if (this.log.isDeleted()) return DELETED;
    if (context) this.log.setContext(context);
    const outcome = this.log.append(messages);
    if (!outcome.ok) return outcome;
    // Most appends change nothing the alarm waits for: skip the queries that recompute it.
    const due = this.log.earliestDueOf(messages);
    if (!this.dueKnown || this.alarmAt === null || due < this.alarmAt || this.log.appendMayDeadLetter()) {
      await this.afterChange();
    }
    this.wakeAll(readyCount(messages));
    return outcome;
  }

  /** Starts serving a subscription, or takes up its new policy (idempotent). */
  async subscribe(spec: SubscriptionSpec): Promise<void> {
    // A new subscription may start with delayed messages: their times go into the alarm.
    if (!this.log.isDeleted() && this.log.subscribe(spec)) await this.scheduleAlarm();
  }

  /** Forgets a subscription and its delivery state (idempotent). */
  async unsubscribe(uid: string): Promise<void> {
    this.forget(uid);
    this.waiters.wake(uid);
    this.seats.close(uid);
    await this.scheduleAlarm();
  }

  /**
   * Leases up to `max` messages (matching `filter`, if given) for `visibilityMs` milliseconds.
   * `max` 0 only reports, in `more`, whether anything is deliverable. With a `bell` and no
   * filter, a lease that leaves nothing deliverable arms the bell (answered in `armed`).
   * At most `budgetBytes` (and LEASE_BUDGET_BYTES) of stored bytes are leased, at least one message.
   */
  async lease(
    spec: SubscriptionSpec,
    max: number,
    visibilityMs: number,
    filter: HeaderFilter | null = null,
    bell: BellAddress | null = null,
    budgetBytes: number | null = null,
  ): Promise<LeaseOutcome> {
    if (this.log.isDeleted()) return DELETED;
    await this.prepare(spec);
    const result = this.log.lease(spec.uid, max, visibilityMs, filter, budgetBytes);
    // No await between the lease and the arm: nothing can become deliverable unrung between.
    const armed = bell && filter === null && !result.more ? this.bells.arm(spec.uid, bell) : null;
    await this.afterLease(result.messages.length, visibilityMs);
    return { ok: true, ...result, armed };
  }

  /**
   * A stream's seat (seats.ts): leases as `lease` does; when nothing is deliverable, waits up to
   * `waitMs` and is answered the moment this partition has leased for it, or with nothing when
   * the wait ends or the stream takes its seat back (`leaveSeat`).
   */
  async leaseOrSeat(spec: SubscriptionSpec, terms: SeatTerms, waitMs: number): Promise<LeaseOutcome> {
    if (this.log.isDeleted()) return DELETED;
    await this.prepare(spec);
    // Nothing became deliverable since this stream's last answer here: no lease to try first.
    if (terms.quiet !== this.quietMark(false) || waitMs <= 0) {
      const now = this.leaseForSeat(spec.uid, terms);
      if (now.messages.length > 0 || waitMs <= 0) {
        await this.afterLease(now.messages.length, terms.visibilityMs);
        return { ok: true, ...now, armed: null };
      }
    }
    const answer = await this.seats.wait(spec.uid, terms, waitMs);
    return this.log.isDeleted() ? DELETED : { ok: true, ...answer, armed: null };
  }

  /** Takes a stream's seat back: answered at once with nothing, unless it was answered already (false). */
  async leaveSeat(uid: string, token: string): Promise<boolean> {
    return this.seats.leave(uid, token);
  }

  /**
   * Acks `refs`, then leases as `lease` does: a receive that acks its last batch here and leases
   * here first pays one call for both. The ack comes first, so that in an ordered subscription
   * it frees its keys' next messages for this lease.
   */
  async ackAndLease(
    spec: SubscriptionSpec,
    refs: ReceiptRef[],
    max: number,
    visibilityMs: number,
    bell: BellAddress | null,
    budgetBytes: number | null,
  ): Promise<{ acked: ReceiptOutcome[]; lease: LeaseOutcome }> {
    const acked = await this.ack(spec.uid, refs);
    return { acked, lease: await this.lease(spec, max, visibilityMs, null, bell, budgetBytes) };
  }

  /**
   * Resolves true as soon as `spec` has a deliverable message here, or false after `waitMs`.
   * Leases nothing: the caller follows up with `lease`.
   */
  async awaitDeliverable(spec: SubscriptionSpec, waitMs: number, filter: HeaderFilter | null = null): Promise<boolean> {
    if (this.log.isDeleted()) return false;
    await this.prepare(spec);
    if (this.log.hasDeliverable(spec.uid, filter)) return true;
    return this.waiters.wait(spec.uid, waitMs);
  }

  async ack(uid: string, refs: ReceiptRef[]): Promise<ReceiptOutcome[]> {
    const outcomes = this.log.ack(uid, refs);
    // In an ordered subscription an ack can free the next message of its key.
    if (this.log.subscription(uid)?.mode === "ordered" && outcomes.some((o) => o.ok)) this.wake(uid);
    return outcomes;
  }

  /** Releases leases: to be tried again (after a delay or the back-off), or dead-lettered. */
  async nack(uid: string, refs: ReceiptRef[], options: NackOptions): Promise<ReceiptOutcome[]> {
    const outcomes = this.log.nack(uid, refs, options);
    await this.afterChange();
    this.wake(uid);
    return outcomes;
  }

  /** Sets leases to end `visibilityMs` from now. */
  async extend(uid: string, refs: ReceiptRef[], visibilityMs: number): Promise<ReceiptOutcome[]> {
    const outcomes = this.log.extend(uid, refs, visibilityMs);
    await this.scheduleAlarm();
    return outcomes;
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
    await this.afterChange();
    this.wake(spec.uid);
    return from;
  }

  /** Dead-letter partition side of a redrive: which dead letters of a subscription are here. */
  async deadLettersPage(request: RedriveRequest): Promise<RedrivePage> {
    return this.redrives.deadLettersPage(request);
  }

  /** As deadLettersPage, items only: for a Worker of the previous deploy. */
  async deadLettersFor(request: RedriveRequest): Promise<RedriveItem[]> {
    return this.redrives.deadLettersPage(request).items;
  }

  /** Dead-letter partition side of a redrive: these went back to their source. */
  async markRedriven(dedupKeys: string[]): Promise<void> {
    this.redrives.markRedriven(dedupKeys);
  }

  /** Source partition side of a redrive: makes dead-lettered messages deliverable again. */
  async redeliverDeadLetters(spec: SubscriptionSpec, items: RedriveItem[]): Promise<{ restored: string[]; missing: string[] }> {
    this.log.subscribe(spec);
    const result = this.redrives.redeliver(spec.uid, items);
    if (result.restored.length > 0) this.wake(spec.uid);
    return result;
  }

  /**
   * Source side of a surge: moves `spec`'s backlog (messages ready here) to its temporary
   * partitions, a chunk at a time, for at most `budgetMs`. Each chunk is marked moving here,
   * appended to the temporary partitions (which ignore a copy they already hold), and only
   * then taken out of here: a crash in between repeats the copy and loses nothing, and no
   * message is deliverable in two places. With `onlyPending`, only finishes chunks a previous
   * move left half done. Returns how many messages moved.
   */
  async surgeMove(
    spec: SubscriptionSpec,
    target: SurgeTarget,
    options: { chunk: number; budgetMs: number; onlyPending: boolean },
  ): Promise<{ moved: number }> {
    if (this.log.isDeleted() || target.partitions < 1) return { moved: 0 };
    this.log.subscribe(spec);
    const deadline = this.clock.now() + options.budgetMs;
    const temps = Array.from({ length: target.partitions }, (_, k) =>
      this.env.PARTITION.get(this.env.PARTITION.idFromName(surgePartitionName(target.context.topicUid, spec.uid, target.generation, k))),
    );
    const subscribed = new Set<number>();
    let moved = 0;
    while (this.clock.now() < deadline) {
      const copies = this.surgeMoves.takeForSurge(spec.uid, options.chunk, options.onlyPending);
      if (copies.length === 0) break;
      // Spread by offset, so that consecutive messages land on different partitions.
      const groups = new Map<number, typeof copies>();
      for (const copy of copies) {
        const k = copy.offset % target.partitions;
        const group = groups.get(k);
        if (group) group.push(copy);
        else groups.set(k, [copy]);
      }
      await Promise.all(
        [...groups].map(async ([k, group]) => {
          const temp = temps[k]!;
          if (!subscribed.has(k)) {
            await temp.subscribe({ ...spec, sinceMs: 0 });
            subscribed.add(k);
          }
          const context = { ...target.context, index: SURGE_INDEX_BASE + k };
          const outcome = await temp.append(
            group.map((c) => c.message),
            context,
          );
          if (!outcome.ok) throw new Error(`surge partition ${k} refused the copy: ${outcome.code}`);
        }),
      );
      this.surgeMoves.finishSurgeMove(
        spec.uid,
        copies.map((c) => c.offset),
        (offset) => SURGE_INDEX_BASE + (offset % target.partitions),
      );
      moved += copies.length;
    }
    return { moved };
  }

  /**
   * Stores this partition's share of a transaction (messages invisible until committed) and,
   * on the transaction's home partition (`open` given), its record, in one transaction.
   * src/partition/transactions.ts tells the refusals.
   */
  async prepareTransaction(share: TransactionShare, context: PartitionContext, open: TransactionOpen | null): Promise<PrepareOutcome> {
    if (this.log.isDeleted()) return DELETED;
    this.log.setContext(context);
    const outcome = this.transactions.prepare(share, open, this.maxOpenTransactions);
    if (outcome.ok) await this.rearmBy(open ? share.expiresAt : share.expiresAt + TRANSACTION_ASK_GRACE_MS);
    return outcome;
  }

  /** Home partition: commits (idempotent); 409-style codes after a rollback. */
  async commitTransaction(id: string): Promise<DecideOutcome> {
    if (this.log.isDeleted()) return DELETED;
    const outcome = await this.coordinator.decide(id, "committed", null);
    // Participants not told yet are told again by the alarm (due TRANSACTION_RETELL_MS from now).
    if (outcome.ok && (outcome.pending ?? 0) > 0) await this.rearmBy(this.clock.now() + TRANSACTION_RETELL_MS);
    return outcome;
  }

  /** Home partition: rolls back (idempotent), reason `client`; refused after a commit. */
  async rollbackTransaction(id: string): Promise<DecideOutcome> {
    if (this.log.isDeleted()) return DELETED;
    const outcome = await this.coordinator.decide(id, "rolled_back", "client");
    // Participants not told yet are told again by the alarm (due TRANSACTION_RETELL_MS from now).
    if (outcome.ok && (outcome.pending ?? 0) > 0) await this.rearmBy(this.clock.now() + TRANSACTION_RETELL_MS);
    return outcome;
  }

  /** Home partition: the transaction's record, or null if unknown. */
  async transaction(id: string): Promise<TransactionView | null> {
    return this.transactions.view(id);
  }

  /** Participant: applies the home's decision to the share here (idempotent). */
  async applyTransaction(id: string, decision: TransactionDecision): Promise<ApplyOutcome> {
    if (this.log.isDeleted()) return DELETED;
    const applied = this.transactions.applyShare(id, decision);
    if (applied.appended.length > 0) await this.afterAppend(applied.appended);
    return { ok: true, state: decision, results: applied.results };
  }

  /** Home partition: a participant asks for a decision it has not heard. */
  async transactionDecision(id: string): Promise<DecisionAnswer> {
    return this.transactions.answerParticipant(id);
  }

  /** After a commit appended `messages` here: what `append` does after its transaction. */
  private async afterAppend(messages: NewMessage[]): Promise<void> {
    const due = this.log.earliestDueOf(messages);
    if (!this.dueKnown || this.alarmAt === null || due < this.alarmAt || this.log.appendMayDeadLetter()) {
      await this.afterChange();
    }
    this.wakeAll(readyCount(messages));
  }

  /**
   * Makes sure the alarm rings by `due` (ms since epoch). An alarm already set earlier is left
   * as it is: when it rings, it finds what is due then and sets the next.
   */
  private async rearmBy(due: number): Promise<void> {
    if (!this.dueKnown || this.alarmAt === null || due < this.alarmAt) await this.scheduleAlarm();
  }

  /**
   * The newest message with this id here (in the log, else prepared or rolled back in a
   * transaction), its state per subscription and its trace; null if none. (Not named `trace`:
   * the runtime reserves that name for tail handlers.)
   */
  async traceMessage(id: string): Promise<MessageTrace | null> {
    this.processDue();
    // The log's trace, with the transaction's events; or a message prepared or rolled back here.
    return this.transactions.trace.traceOf(id, this.log.traceOf(id));
  }

  /**
   * Dead-letter partition side of the dead-letter browser: one source subscription's dead
   * letters not yet redriven, after offset `after` (-1: from the start), at most `max`, bodies
   * cut to `previewChars` characters.
   */
  async browseDeadLetters(request: DeadLetterBrowse): Promise<DeadLetterEntry[]> {
    return this.log.trace.deadLetters(this.log.segments, deadLetterKeyPrefix(request.sourceTopicUid, request.subscriptionUid), request.after, request.max, request.previewChars);
  }

  /**
   * The rows this object's SQL wrote and read since it started (docs/storage.md), without
   * running any SQL itself: reading it changes nothing it counts.
   */
  async rowCounts(): Promise<{ rowsWritten: number; rowsRead: number }> {
    return this.meter.snapshot();
  }

  /** Counts, with the rows this object's SQL wrote and read before this call. */
  async stats(): Promise<PartitionStats> {
    const rows = this.meter.snapshot();
    this.processDue();
    return { ...this.log.stats(), rows };
  }

  /**
   * The cron's safety net: takes up the topic's rules and the subscriptions' policies, does what
   * is due (redelivery, dead letters, TTL, retention), appends waiting dead letters and re-arms
   * the alarm. `introduce: false` only refreshes subscriptions served here already (a spec read
   * before a deletion must not bring a subscription back); `forgetOthers: false` forgets none
   * (deletions arrive through their tombstones). Without options (a Worker of an earlier deploy):
   * both true, as before.
   */
  async sweep(
    context: PartitionContext,
    subscriptions: SubscriptionSpec[],
    options: { introduce: boolean; forgetOthers: boolean } = { introduce: true, forgetOthers: true },
  ): Promise<{ woken: number; deleted: number; subscriptions: string[] }> {
    if (this.log.isDeleted()) return { woken: 0, deleted: 0, subscriptions: [] };
    this.log.setContext(context);
    if (options.forgetOthers) {
      const live = new Set(subscriptions.map((s) => s.uid));
      for (const uid of this.log.subscriptionUids()) if (!live.has(uid)) this.forget(uid);
    }
    for (const spec of subscriptions) {
      if (options.introduce || this.log.subscription(spec.uid)) this.log.subscribe(spec);
      // Rows of a move that no surge will finish (its surge is off): ready again.
      if (spec.surgeOff === true && this.log.subscription(spec.uid)) {
        if (this.log.releaseStaleMoving(spec.uid, this.clock.now() - MOVING_STALE_MS) > 0) this.wake(spec.uid);
      }
    }
    const woken = this.processDue();
    const deleted = this.log.enforceRetention();
    // Decided transactions past the retention, also where no alarm rings any more.
    this.transactions.forgetResolved(this.log.policy().retentionMs);
    this.alarmAt = null;
    await this.afterChange();
    return { woken, deleted, subscriptions: this.log.subscriptionUids() };
  }

  /** Deletes everything and refuses further writes: the topic is gone. */
  async destroy(): Promise<void> {
    this.waiters.wakeAll(false);
    this.seats.closeAll();
    this.bells.clear();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    migrate(this.ctx.storage);
    this.log.markDeleted();
    this.alarmAt = null;
  }

  override async alarm(): Promise<void> {
    // The alarm can be the first event after an eviction: the constructor has migrated.
    this.alarmAt = null;
    this.processDue();
    this.log.continueDropOldest();
    this.log.enforceRetention();
    this.transactions.forgetResolved(this.log.policy().retentionMs);
    await this.coordinator.runDue();
    await this.forwardDeadLetters();
    await this.scheduleAlarm();
  }

  /**
   * Before serving a subscription: take up its spec, and do what has fallen due — checked only
   * when the next due time has passed, so that a busy partition does not query for it on
   * every call.
   */
  private async prepare(spec: SubscriptionSpec): Promise<void> {
    const isNew = this.log.subscribe(spec);
    const due = !this.dueKnown || (this.alarmAt !== null && this.alarmAt <= this.clock.now());
    const woken = due ? this.processDue() : 0;
    if (isNew || woken > 0 || (due && this.log.outbox.any())) await this.afterChange();
  }

  /** Does what is due and wakes the long polls of subscriptions that gained messages. */
  private processDue(): number {
    const subs = this.log.processDue();
    for (const uid of subs) this.wake(uid);
    return subs.length;
  }

  /** Drops a subscription's delivery state and its doorbell here. */
  private forget(uid: string): void {
    this.log.unsubscribe(uid);
    this.bells.forget(uid);
  }

  /**
   * `uid` may have something deliverable: lease for its streams seated here, then wake its long
   * polls here and ring its doorbell — unless the seats took everything there was.
   */
  private wake(uid: string): void {
    this.wakes++;
    if (this.serveSeats(uid).drained) return;
    this.waiters.wake(uid);
    const bell = this.bells.take(uid);
    if (bell) this.ring(bell);
  }

  /**
   * After an append of `count` messages deliverable now: the seated streams lease first, then the
   * doorbells wake as many receives as messages are left.
   */
  private wakeAll(count: number): void {
    this.wakes++;
    const served = new Map<string, ServedSeats>();
    for (const uid of this.seats.subscriptions()) served.set(uid, this.serveSeats(uid));
    this.waiters.wakeAll();
    for (const bell of this.bells.takeAll()) {
      const seated = served.get(bell.subscriptionUid);
      const left = count - (seated?.leased ?? 0);
      // The bell stays armed for the next change when the seats took everything.
      if (seated?.drained || left <= 0) this.bells.rearm(bell);
      else this.ring(bell, left);
    }
  }

  /** A lease on a seat's terms, with its quiet mark taken at once (before anything can wake). */
  private leaseForSeat(uid: string, terms: SeatTerms): SeatAnswer {
    const result = this.log.lease(uid, terms.max, terms.visibilityMs, terms.filter, terms.budgetBytes);
    return { ...result, quiet: this.quietMark(result.more) };
  }

  /**
   * A mark of everything that made messages deliverable here so far (each wake changes it),
   * unique to this incarnation of the object; null when `more` is deliverable already.
   */
  private quietMark(more: boolean): string | null {
    return more ? null : `${this.incarnation}.${this.wakes}`;
  }

  /** Leases for the streams seated on `uid` (seats.ts), and sees to the alarm for their leases' ends. */
  private serveSeats(uid: string): ServedSeats {
    if (!this.seats.any(uid)) return { leased: 0, drained: false };
    const served = this.seats.serve(uid, (terms) => this.leaseForSeat(uid, terms));
    if (served.leased > 0 || this.log.tookDeadLetters()) {
      this.ctx.waitUntil(
        this.afterLease(served.leased, served.visibilityMs).catch((error: unknown) => {
          // The next call's prepare finds what is due: dueKnown is false until the alarm is set.
          this.dueKnown = false;
          console.error(JSON.stringify({ event: "alarm_set_failed", message: String(error) }));
        }),
      );
    }
    return served;
  }

  /**
   * Rings without holding up the caller; a ring that fails re-arms, for the next change.
   * `count`: how many messages became deliverable (null: unknown), so that the doorbell wakes
   * as many waiting receives as can get one, not all of them.
   */
  private ring(bell: Bell, count: number | null = null): void {
    const doorbell = this.env.DOORBELL.get(this.env.DOORBELL.idFromName(bell.name));
    this.ctx.waitUntil(
      doorbell.ring(bell.index, bell.seq, count).catch((error: unknown) => {
        console.error(JSON.stringify({ event: "doorbell_ring_failed", message: String(error) }));
        this.bells.rearm(bell);
      }),
    );
  }

  /** After leasing `leased` messages for `visibilityMs`: their lease ends, and what the lease dead-lettered. */
  private async afterLease(leased: number, visibilityMs: number): Promise<void> {
    // A lease that passed expired messages may have dead-lettered them: send them now.
    if (this.log.tookDeadLetters()) await this.afterChange();
    // A lease adds one due time, its end: the alarm needs setting again only if it comes first.
    else if (leased > 0 && (!this.dueKnown || this.alarmAt === null || this.clock.now() + visibilityMs < this.alarmAt)) {
      await this.scheduleAlarm();
    }
  }

  /** After a change: send dead letters on their way (without holding up the caller), re-arm. */
  private async afterChange(): Promise<void> {
    if (this.log.outbox.any()) void this.forwardDeadLetters();
    await this.scheduleAlarm();
  }

  /**
   * Appends the outbox's dead letters to their dead-letter topic's partitions and forgets
   * those stored. Deduplication by each dead letter's key makes a repeat after a crash
   * harmless. What fails stays in the outbox; the alarm tries again.
   */
  private forwardDeadLetters(): Promise<void> {
    // One forward at a time; `finally` runs after the assignment, even when nothing awaits.
    this.forwarding ??= this.forwardOutbox().finally(() => {
      this.forwarding = null;
    });
    return this.forwarding;
  }

  private async forwardOutbox(): Promise<void> {
    try {
      // Per subscription, then per target partition: a target that refuses keeps its own dead
      // letters waiting and blocks nobody else's (no head-of-line blocking).
      const blocked = new Set<string>();
      for (let round = 0; round < OUTBOX_ROUNDS; round++) {
        const groups = this.outboxByTarget(blocked);
        if (groups.size === 0) break;
        for (const group of groups.values()) {
          const name = group.target;
          try {
            const stub = this.env.PARTITION.get(this.env.PARTITION.idFromName(name));
            const outcome = await stub.append(group.messages, null);
            if (outcome.ok) {
              this.ctx.storage.transactionSync(() => this.log.outbox.done(group.seqs));
              continue;
            }
            console.error(JSON.stringify({ event: "dead_letter_refused", target: name, code: outcome.code }));
          } catch (error) {
            console.error(JSON.stringify({ event: "dead_letter_forward_failed", target: name, message: String(error) }));
          }
          blocked.add(group.subscriptionUid);
        }
      }
    } catch (error) {
      console.error(JSON.stringify({ event: "dead_letter_forward_failed", message: String(error) }));
    }
    await this.scheduleAlarm();
  }

  /**
   * The next outbox page of each subscription not `blocked`, by dead-letter partition (object
   * name): at most OUTBOX_BATCH_MESSAGES and OUTBOX_PAGE_BYTES per subscription.
   */
  private outboxByTarget(blocked: ReadonlySet<string>): Map<string, { target: string; subscriptionUid: string; seqs: number[]; messages: NewMessage[] }> {
    const groups = new Map<string, { target: string; subscriptionUid: string; seqs: number[]; messages: NewMessage[] }>();
    for (const uid of this.log.subscriptionUids()) {
      if (blocked.has(uid)) continue;
      // A subscription whose policy names no dead-letter topic yet keeps its dead letters here.
      const target = this.log.policyOf(uid)?.deadLetter;
      if (!target) continue;
      for (const entry of this.log.outbox.takeOf(uid, OUTBOX_BATCH_MESSAGES, OUTBOX_PAGE_BYTES)) {
        const name = partitionName(target.uid, partitionForKey(entry.message.key ?? entry.message.id, target.partitions));
        // One group per (target, subscription): a refusal blocks only that subscription.
        const groupKey = `${name}\u0000${uid}`;
        let group = groups.get(groupKey);
        if (!group) groups.set(groupKey, (group = { target: name, subscriptionUid: uid, seqs: [], messages: [] }));
        group.seqs.push(entry.seq);
        group.messages.push(entry.message);
      }
    }
    return groups;
  }

  private async scheduleAlarm(): Promise<void> {
    let next = this.log.nextDueAt();
    const transactionsDue = this.transactions.nextDueAt();
    if (transactionsDue !== null) next = next === null ? transactionsDue : Math.min(next, transactionsDue);
    if (this.log.outbox.any()) {
      const retry = this.clock.now() + OUTBOX_RETRY_MS;
      next = next === null ? retry : Math.min(next, retry);
    }
    this.dueKnown = true;
    if (next === this.alarmAt) return;
    this.alarmAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}

/** What serving a subscription's seats did: messages leased, and whether nothing deliverable is left. */
interface ServedSeats {
  leased: number;
  drained: boolean;
}

/** How many of an append's messages are deliverable at once (not delayed). */
function readyCount(messages: readonly NewMessage[]): number {
  let count = 0;
  for (const m of messages) if (m.delayMs <= 0) count++;
  return count;
}
