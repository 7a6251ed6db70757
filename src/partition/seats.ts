import type { HeaderFilter, LeasedMessage } from "../shared/partition-api";

/** What a seat leases with: the terms its stream asked for. */
export interface SeatTerms {
  /** Names the stream's seats, so that the stream can take them back (`Seats.leave`). */
  token: string;
  max: number;
  visibilityMs: number;
  filter: HeaderFilter | null;
  budgetBytes: number | null;
  /**
   * The quiet mark of the stream's last answer here (SeatAnswer.quiet): while it still holds,
   * nothing became deliverable since, and the seat waits without a lease first.
   */
  quiet?: string | null;
}

/** What a seat is answered: what was leased for it (nothing when it timed out or left). */
export interface SeatAnswer {
  messages: LeasedMessage[];
  more: boolean;
  /** When the lease left nothing deliverable: a mark of the partition's state, that the next wake changes. */
  quiet: string | null;
}

const NOTHING: SeatAnswer = { messages: [], more: false, quiet: null };

interface Seat extends SeatTerms {
  answer: (answer: SeatAnswer) => void;
}

/** Leases for one seat: the partition's log.lease with the seat's terms. */
export type LeaseFor = (terms: SeatTerms) => SeatAnswer;

/**
 * Streams parked on this partition, per subscription (docs/architecture.md, "Streams"): each
 * seat is one stream's waiting call, with the terms of the lease it wants. When messages become
 * deliverable the partition leases for the seats at once, longest waiting first, and answers
 * them with the messages — no doorbell, no lease call after a wake. A stream re-seats after
 * each answer, at the back of the line, so none starves.
 *
 * Memory only: a partition that restarts fails its calls, and their streams seat again.
 */
export class Seats {
  private readonly bySubscription = new Map<string, Seat[]>();

  /** Seats a stream until `serve` answers it with messages, or with nothing after `waitMs`. */
  wait(uid: string, terms: SeatTerms, waitMs: number): Promise<SeatAnswer> {
    return new Promise((resolve) => {
      let line = this.bySubscription.get(uid);
      if (!line) this.bySubscription.set(uid, (line = []));
      const seat: Seat = {
        ...terms,
        answer: (answer) => {
          clearTimeout(timer);
          this.remove(uid, seat);
          resolve(answer);
        },
      };
      const timer = setTimeout(() => seat.answer(NOTHING), waitMs);
      line.push(seat);
    });
  }

  /**
   * Leases for the seats of `uid`, longest waiting first, until nothing deliverable is left:
   * an unfiltered seat that leases nothing says so. A filtered seat that finds nothing stays.
   * Answers how many messages were leased, the shortest visibility they were leased for (the
   * first of their leases to end, which the alarm must not miss), and whether an unfiltered
   * seat's lease found nothing deliverable left (`drained`).
   */
  serve(uid: string, leaseFor: LeaseFor): { leased: number; visibilityMs: number; drained: boolean } {
    let leased = 0;
    let visibilityMs = Infinity;
    for (const seat of [...(this.bySubscription.get(uid) ?? [])]) {
      const got = leaseFor(seat);
      if (got.messages.length > 0) {
        leased += got.messages.length;
        visibilityMs = Math.min(visibilityMs, seat.visibilityMs);
        seat.answer(got);
      }
      if (seat.filter === null && !got.more) return { leased, visibilityMs, drained: true };
    }
    return { leased, visibilityMs, drained: false };
  }

  /** The subscriptions with streams seated here. */
  subscriptions(): string[] {
    return [...this.bySubscription.keys()];
  }

  /** Whether `uid` has streams seated here. */
  any(uid: string): boolean {
    return this.bySubscription.has(uid);
  }

  /** Answers the stream's seat `token` with nothing now; false when it has none here. */
  leave(uid: string, token: string): boolean {
    const seat = this.bySubscription.get(uid)?.find((s) => s.token === token);
    seat?.answer(NOTHING);
    return seat !== undefined;
  }

  /** Answers every seat of `uid` with nothing (the subscription is gone here). */
  close(uid: string): void {
    for (const seat of [...(this.bySubscription.get(uid) ?? [])]) seat.answer(NOTHING);
  }

  /** Answers every seat with nothing (the topic is gone). */
  closeAll(): void {
    for (const uid of [...this.bySubscription.keys()]) this.close(uid);
  }

  private remove(uid: string, seat: Seat): void {
    const line = this.bySubscription.get(uid);
    if (!line) return;
    const at = line.indexOf(seat);
    if (at >= 0) line.splice(at, 1);
    if (line.length === 0) this.bySubscription.delete(uid);
  }
}
