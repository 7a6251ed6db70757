import type { HeaderFilter, LeaseOutcome, SubscriptionSpec } from "../shared/partition-api";
import { STREAM_LINE_MESSAGES } from "../shared/limits";
import { randomToken } from "../shared/ids";
import { callPartition } from "./failures";
import type { PartitionHandle } from "./handles";
import type { Delivery, ObjectCalls } from "./receive";

/** How long a partition whose call failed is left alone before the stream seats there again. */
const RETRY_SEAT_MS = 1_000;
/**
 * A seat waits at most this long before it is taken again: a seat lost with its object (a
 * restart that does not fail the call) costs its stream that partition for at most this long;
 * an idle stream so costs a call per partition a minute at most.
 */
const SEAT_MAX_MS = 60_000;
/** An empty answer this long before its seat's wait ends is a seat closed by the partition, not one that timed out. */
const CLOSED_EARLY_MS = 1_000;
/** Failed seat calls in a row on every partition after which a stream goes the doorbell's way. */
const SEAT_ATTEMPTS = 2;

/** One seat's call, as it settles: what it leased, or null when the call failed (callPartition logged why). */
type Settled = { index: number; outcome: LeaseOutcome | null };

interface Parked {
  handle: PartitionHandle;
  /** The messages this seat may lease: promised out of what the stream may still deliver. */
  max: number;
  settled: Promise<Settled>;
  /** When its wait ends at the partition: an empty answer well before that means it was closed. */
  waitsUntil: number;
}

/** What a stream leases with. */
export interface SeatOptions {
  visibilityMs: number;
  filter: HeaderFilter | null;
  /** How long a seat waits at most (SEAT_MAX_MS unless a test says otherwise). */
  seatMaxMs?: number;
}

/**
 * A stream's seats (docs/architecture.md, "Streams"): one waiting call on each partition of
 * its subscription (src/partition/seats.ts), which the partition answers the moment it has
 * leased messages for it. A message so costs the stream one partition call — the answer, and
 * the seat taken again — where a wait at the doorbell, its ring and a lease cost three; an idle
 * stream's seats wait to its end or a minute (SEAT_MAX_MS), with no call per heartbeat.
 *
 * The seats never promise more than the stream may still deliver (`left`): each asks for an
 * even share of it, at most a line. When a partition cannot be given even one message — the
 * last few messages of a stream with max_messages — `next` answers null, and the stream takes
 * its seats back (`leave`) and goes on the doorbell's way (routing/receive.ts).
 */
export class StreamSeats {
  private readonly token = randomToken(12);
  private readonly parked = new Map<number, Parked>();
  /** Partitions whose last call failed, and when to seat there again. */
  private readonly resting = new Map<number, number>();
  /** Partitions whose topic is gone: not seated again. */
  private readonly gone = new Set<number>();
  /** Each partition's quiet mark from its last answer: handed back with the next seat there. */
  private readonly quiet = new Map<number, string>();
  /** Each partition's failed seat calls in a row. */
  private readonly failures = new Map<number, number>();

  constructor(
    private readonly options: SeatOptions,
    private readonly calls: ObjectCalls,
  ) {}

  /**
   * Seats the stream on each of `partitions` where it is not seated (until `endsAt`, the
   * stream's end), and answers the first messages any seat is answered with, or [] at `until`
   * (a heartbeat) or when `signal` aborts. null: a partition could not be given a seat of one
   * message within `left`, or every seat failed: the stream goes the doorbell's way.
   */
  async next(
    partitions: readonly PartitionHandle[],
    spec: SubscriptionSpec,
    left: number,
    until: number,
    endsAt: number,
    signal: AbortSignal,
  ): Promise<Delivery[] | null> {
    // Partitions the subscription no longer reads (a surge ended): their seats are taken back.
    const current = new Set(partitions.map((handle) => handle.index));
    for (const [index, parked] of this.parked) if (!current.has(index)) this.leaveOne(spec.uid, parked);
    const share = Math.min(STREAM_LINE_MESSAGES, Math.floor(left / Math.max(1, partitions.length)));
    for (;;) {
      const now = Date.now();
      for (const handle of partitions) {
        if (this.parked.has(handle.index) || this.gone.has(handle.index) || (this.resting.get(handle.index) ?? 0) > now) continue;
        const max = Math.min(share, left - this.promised());
        if (max < 1) return null;
        this.seat(handle, spec, max, Math.max(0, Math.min(endsAt - now, this.options.seatMaxMs ?? SEAT_MAX_MS)));
      }
      const settled = await this.firstSettled(until, signal);
      // null: `until`, the client gone, or (every seat failed) the time to try them again.
      if (settled === null) {
        if (Date.now() >= until || signal.aborted) return [];
        continue;
      }
      const waitsUntil = this.parked.get(settled.index)?.waitsUntil ?? 0;
      const deliveries = this.take(settled);
      if (deliveries.length > 0) return deliveries;
      // A seat answered with nothing well before its wait ended was closed (its subscription
      // left the partition): not taken again before the stream has read the catalog again.
      if (settled.outcome && Date.now() < waitsUntil - CLOSED_EARLY_MS) this.resting.set(settled.index, until);
      // No partition left to wait on (every seat failed): the doorbell's way, which answers
      // unavailable (503, retryable) if the partitions fail there too. So does a stream whose
      // partitions still run code without seats, during a rollout.
      if (this.allDown(partitions)) return null;
      if (Date.now() >= until || signal.aborted) return [];
    }
  }

  /**
   * Takes every seat back, and answers the messages seats were leased meanwhile (to deliver).
   * At the stream's end (`early` false) the seats end by themselves: nothing to call.
   */
  async leave(uid: string, early = true): Promise<Delivery[]> {
    const parked = [...this.parked.values()];
    if (early) for (const seat of parked) this.leaveOne(uid, seat);
    const deliveries: Delivery[] = [];
    for (const settled of await Promise.all(parked.map((seat) => seat.settled))) deliveries.push(...this.take(settled));
    return deliveries;
  }

  /** How many messages the seats parked now may lease at most. */
  private promised(): number {
    let sum = 0;
    for (const seat of this.parked.values()) sum += seat.max;
    return sum;
  }

  private seat(handle: PartitionHandle, spec: SubscriptionSpec, max: number, waitMs: number): void {
    this.calls.partitions++;
    const quiet = this.quiet.get(handle.index) ?? null;
    const terms = { token: this.token, max, visibilityMs: this.options.visibilityMs, filter: this.options.filter, budgetBytes: null, quiet };
    const settled = callPartition<LeaseOutcome>(async () => handle.stub.leaseOrSeat(spec, terms, waitMs)).then(
      (outcome): Settled => ({ index: handle.index, outcome }),
      (): Settled => ({ index: handle.index, outcome: null }),
    );
    this.parked.set(handle.index, { handle, max, settled, waitsUntil: Date.now() + waitMs });
  }

  private leaveOne(uid: string, seat: Parked): void {
    this.calls.partitions++;
    // A seat that cannot be told to leave ends with its wait, or with its partition's failure.
    seat.handle.stub.leaveSeat(uid, this.token).catch(() => undefined);
  }

  /** The first seat to settle, or null at `until` or when `signal` aborts. */
  private async firstSettled(until: number, signal: AbortSignal): Promise<Settled | null> {
    const waits: Promise<Settled | null>[] = [...this.parked.values()].map((seat) => seat.settled);
    // Without a seat (every call failed), wake up when the first partition may be tried again.
    const wakeAt = waits.length > 0 ? until : Math.min(until, ...this.resting.values());
    let timer: ReturnType<typeof setTimeout> | undefined;
    waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve(null), Math.max(0, wakeAt - Date.now())))));
    let onAbort: (() => void) | undefined;
    waits.push(new Promise((resolve) => signal.addEventListener("abort", (onAbort = () => resolve(null)), { once: true })));
    try {
      return signal.aborted ? null : await Promise.race(waits);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  /** Takes a settled seat off the list and answers its messages. */
  private take(settled: Settled): Delivery[] {
    const handle = this.parked.get(settled.index)?.handle;
    this.parked.delete(settled.index);
    const { outcome } = settled;
    const quiet = outcome?.ok ? outcome.quiet : null;
    if (quiet) this.quiet.set(settled.index, quiet);
    else this.quiet.delete(settled.index);
    if (!outcome) {
      this.resting.set(settled.index, Date.now() + RETRY_SEAT_MS);
      this.failures.set(settled.index, (this.failures.get(settled.index) ?? 0) + 1);
      // The failed call may have broken the stub: the next seat there gets a fresh one.
      handle?.renew?.();
      return [];
    }
    this.resting.delete(settled.index);
    this.failures.delete(settled.index);
    if (!outcome.ok) {
      this.gone.add(settled.index);
      return [];
    }
    return outcome.messages.map((message) => ({ partition: settled.index, message }));
  }

  /**
   * Whether no seat is parked and every one of `partitions` is gone or failed its last
   * SEAT_ATTEMPTS seat calls (one failed at least): a restart of the objects fails each call once,
   * and the seats come back a second later; a partition without seats fails every time.
   */
  private allDown(partitions: readonly PartitionHandle[]): boolean {
    if (this.failures.size === 0 || this.parked.size > 0) return false;
    return partitions.every((handle) => this.gone.has(handle.index) || (this.failures.get(handle.index) ?? 0) >= SEAT_ATTEMPTS);
  }
}
