import { RETENTION_SCAN_PER_PASS_MESSAGES } from "../shared/limits";
import type { Segments } from "./segments";

/** What a retention pass asks of the log it prunes. */
export interface Retained {
  segments: Segments;
  /** Whether some subscription still needs a message in [first, last]. */
  holdsAny(first: number, last: number): boolean;
  /** Every message below this is done for every subscription; null: none is held. */
  floorOfAll(): number | null;
  /** Deletes the segment [first, last] and what belongs to its messages. */
  deleteSegment(first: number, last: number): void;
}

/**
 * Retention (docs/storage.md, "retention"): deletes whole segments past the retention whose
 * every message no subscription still needs, oldest first, paging past held ones, and knows
 * when the next pass is due. Its bookkeeping lives in memory: after a restart one pass is due.
 */
export class Retention {
  /** Where the next pass resumes (a pass that ran out of budget), else 0. */
  private from = 0;
  /** A pass stopped at its budget: the next one is due at once. */
  private pending = false;
  /** No pass since this object started or the topic's rules changed: one is due. */
  private stale = true;
  /** When the first segment the last pass found young passes the retention; null: unknown. */
  private nextAt: number | null = null;

  /** The topic's rules changed: a shorter retention may make old segments due now. */
  rulesChanged(): void {
    this.stale = true;
  }

  /**
   * One pass, inside the caller's transaction: a segment held by one unacked message stays and
   * the pass goes on past it, up to RETENTION_SCAN_PER_PASS_MESSAGES; a pass that stops there
   * resumes where it stopped, at once. Returns how many messages it deleted.
   */
  enforce(log: Retained, retentionMs: number, now: number): number {
    const cutoff = now - retentionMs;
    let from = this.from;
    let examined = 0;
    let deleted = 0;
    this.pending = false;
    this.stale = false;
    const floor = log.floorOfAll();
    for (;;) {
      const segments = log.segments.oldest(from, 100);
      let young: number | null = null;
      for (const segment of segments) {
        if (segment.producedTo >= cutoff) {
          young = segment.producedTo;
          break;
        }
        examined += segment.last - segment.first + 1;
        from = segment.last + 1;
        if (floor === null || segment.last < floor || !log.holdsAny(segment.first, segment.last)) {
          log.deleteSegment(segment.first, segment.last);
          deleted += segment.last - segment.first + 1;
        }
      }
      if (young !== null || segments.length < 100) {
        // The end of what is old: the next pass starts from the oldest again (held ones may be free).
        this.from = 0;
        this.nextAt = young === null ? null : young + retentionMs;
        return deleted;
      }
      if (examined >= RETENTION_SCAN_PER_PASS_MESSAGES) {
        this.from = from;
        this.pending = true;
        return deleted;
      }
    }
  }

  /** When the next pass is due, given when the oldest message was produced; null: never. */
  nextDueAt(oldestProducedAt: number | null, retentionMs: number, now: number): number | null {
    if (this.pending) return now;
    if (oldestProducedAt === null) return null;
    const end = oldestProducedAt + retentionMs;
    if (end > now) return end;
    // Past already, and held by unacked messages: the next segment to grow old is what the last
    // pass found young (the cron sweep retries the held ones) — unless no pass has looked since
    // the rules changed (a shorter retention): then now.
    if (this.stale) return now;
    return this.nextAt !== null && this.nextAt > now ? this.nextAt : null;
  }
}
