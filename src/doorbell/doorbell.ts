import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { systemClock, type Clock } from "../shared/clock";
import type { ArmReport } from "../shared/partition-api";

/**
 * How long a partition's "nothing here, I will ring" is believed without hearing it again. A
 * ring that was lost (a failed call, an object restarted at the wrong moment) then costs at
 * most this much delay: the next receive after it asks the partition itself.
 */
export const EMPTY_BELIEF_MS = 60_000;

interface PartitionState {
  /** The arm sequence number of the partition's last "empty" report, while believed. */
  emptySeq: number | null;
  emptySince: number;
  /** The highest arm sequence number the partition rang for: older reports are stale. */
  rungSeq: number;
}

type Waiter = {
  indices: ReadonlySet<number>;
  /** How many messages the waiting receive takes at most: a ring of n messages wakes waiters until their maxima cover n. */
  max: number;
  resolve: (ready: number[]) => void;
};

/**
 * The doorbell of one subscription (docs/architecture.md, "The doorbell"): where its
 * long polls wait, one call each however many partitions the topic has. A partition that a
 * receive found empty arms itself (src/partition/bells.ts) and the receive reports that here;
 * the partition rings once something becomes deliverable there. So the doorbell knows which
 * partitions may have messages: all but those that reported empty and have not rung since.
 *
 * Its state is memory only. A doorbell that restarts believes no partition empty, and the
 * next receive asks them all: slower, never wrong.
 */
export class Doorbell extends DurableObject<Env> {
  /** Replaced by tests to move time. */
  clock: Clock = systemClock;
  private readonly partitions = new Map<number, PartitionState>();
  /** In the order they came: a ring wakes the longest waiting first, so that none starves. */
  private readonly waiters = new Set<Waiter>();
  /** How many waits a ring has answered since the object started: for tests. */
  private wokenByRing = 0;

  /**
   * Takes `reports`, then answers the partitions among `indices` that may have messages; when
   * there are none, waits until one of them rings (answering it) or `waitMs` has passed ([]).
   * `max` is how many messages the receive takes (a Worker of an earlier deploy gives none: 1).
   */
  async wait(indices: number[], reports: ArmReport[], waitMs: number, max = 1): Promise<number[]> {
    for (const report of reports) this.believeEmpty(report);
    const now = this.clock.now();
    const ready = indices.filter((index) => {
      const state = this.partitions.get(index);
      return state?.emptySeq == null || now - state.emptySince >= EMPTY_BELIEF_MS;
    });
    if (ready.length > 0 || waitMs <= 0) return ready;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        indices: new Set(indices),
        max: Math.max(1, max),
        resolve: (rung) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(rung);
        },
      };
      // Waits end before the next belief check would change the answer.
      const timer = setTimeout(() => waiter.resolve([]), Math.min(waitMs, EMPTY_BELIEF_MS));
      this.waiters.add(waiter);
    });
  }

  /** Takes reports of partitions left empty, with nothing to answer. */
  async report(reports: ArmReport[]): Promise<void> {
    for (const report of reports) this.believeEmpty(report);
  }

  /**
   * Partition `index` has something deliverable again (since its arm `seq`): `count` messages,
   * or an unknown number (null, or a partition of an earlier deploy). Wakes the waits on it,
   * longest waiting first, only until their `max` add up to `count`: one message wakes one
   * receive, not all of them (the others would each cost a lease that finds nothing and a wait
   * again). A woken receive that leaves messages behind rings again (seq 0) for the next one.
   */
  async ring(index: number, seq: number, count: number | null = null): Promise<void> {
    const state = this.state(index);
    state.rungSeq = Math.max(state.rungSeq, seq);
    state.emptySeq = null;
    let left = count ?? Infinity;
    for (const waiter of [...this.waiters]) {
      if (left <= 0) break;
      if (!waiter.indices.has(index)) continue;
      waiter.resolve([index]);
      this.wokenByRing++;
      left -= waiter.max;
    }
  }

  /** How many long polls wait here; for tests. */
  async waiting(): Promise<number> {
    return this.waiters.size;
  }

  /** How many waits rings have answered since the object started; for tests. */
  async woken(): Promise<number> {
    return this.wokenByRing;
  }

  private believeEmpty({ index, seq }: ArmReport): void {
    const state = this.state(index);
    // A ring for this arm (or a later one) already came: the report is out of date.
    if (seq <= state.rungSeq) return;
    state.emptySeq = seq;
    state.emptySince = this.clock.now();
  }

  private state(index: number): PartitionState {
    let state = this.partitions.get(index);
    if (!state) this.partitions.set(index, (state = { emptySeq: null, emptySince: 0, rungSeq: 0 }));
    return state;
  }
}
