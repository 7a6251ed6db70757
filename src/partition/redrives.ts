import { REDRIVE_SCAN_BYTES, REDRIVE_SCAN_ROWS } from "../shared/limits";
import type { RedriveItem, RedrivePage, RedriveRequest } from "../shared/partition-api";
import type { Clock } from "../shared/clock";
import type { PartitionLog } from "./log";
import { DEAD_LETTER_HEADERS, deadLetterKeyPrefix, parseDeadLetterKey } from "./policy";
import { SQL } from "./statements";

/**
 * Both sides of a redrive (src/routing/redrive.ts): finding a subscription's dead letters in a
 * dead-letter partition, and making them deliverable again in their source partition.
 */
export class Redrives {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly log: PartitionLog,
    private readonly clock: Clock,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /**
   * Dead-letter partition side of a redrive: the next dead letters of one source subscription
   * not yet moved back, oldest first after `request.after` (optionally only those with
   * `reason`), at most `max`. One call scans at most REDRIVE_SCAN_ROWS rows and
   * REDRIVE_SCAN_BYTES of their headers; `scannedTo` is where the next page starts (matches past
   * a page of non-matching rows are found by the next call), `done` whether the range is over.
   */
  deadLettersPage(request: RedriveRequest): RedrivePage {
    const prefix = deadLetterKeyPrefix(request.sourceTopicUid, request.subscriptionUid);
    const items: RedriveItem[] = [];
    let scannedTo = request.after;
    let bytes = 0;
    let scanned = 0;
    let full = false;
    this.log.segments.withKeyPrefix(prefix, request.after, (m) => {
      scanned++;
      scannedTo = m.offset;
      bytes += m.headers?.length ?? 0;
      if (request.reason === null || (m.headers && (JSON.parse(m.headers) as Record<string, string>)[DEAD_LETTER_HEADERS.reason] === request.reason)) {
        const origin = parseDeadLetterKey(m.dedupKey!);
        if (origin) items.push({ deadLetterOffset: m.offset, dedupKey: m.dedupKey!, ...origin });
      }
      full = items.length >= request.max || bytes >= REDRIVE_SCAN_BYTES;
      return !full && scanned < REDRIVE_SCAN_ROWS;
    });
    return { items, scannedTo, done: !full && scanned < REDRIVE_SCAN_ROWS };
  }

  /** Dead-letter partition side: these dead letters went back; nobody here receives them now. */
  markRedriven(dedupKeys: readonly string[]): void {
    this.storage.transactionSync(() => {
      for (const key of dedupKeys) {
        for (const offset of this.log.segments.byDedupKey(key)) {
          this.log.segments.mark(offset, "redriven");
          this.sql.exec(SQL.deliveriesDeleteForOffset, offset);
          for (const uid of this.log.subscriptionUids()) this.log.refreshKey(uid, this.log.segments.at(offset)?.key ?? "");
        }
      }
    });
  }

  /**
   * Source partition side of a redrive: makes each dead-lettered message deliverable to the
   * subscription again, with fresh attempts. A dead letter restored before is skipped, so a
   * retried redrive moves nothing twice. A message the log no longer has (past retention) is
   * reported missing and its dead letter stays where it is.
   */
  redeliver(uid: string, items: readonly RedriveItem[]): { restored: string[]; missing: string[] } {
    const sub = this.log.subscription(uid);
    const restored: string[] = [];
    const missing: string[] = [];
    if (!sub) return { restored, missing: items.map((i) => i.dedupKey) };
    const now = this.clock.now();
    this.storage.transactionSync(() => {
      for (const item of items) {
        if (this.sql.exec(SQL.redrivenGet, item.dedupKey).toArray().length > 0) {
          restored.push(item.dedupKey);
          continue;
        }
        const log = this.log.segments.at(item.offset);
        if (!log) {
          missing.push(item.dedupKey);
          continue;
        }
        const priority = sub.mode === "ordered" ? 0 : log.priority;
        this.log.exceptions.restore(uid, item.offset, log.key ?? "", priority);
        this.log.refreshKey(uid, log.key ?? "");
        this.sql.exec(SQL.redrivenInsert, item.dedupKey);
        // observe:
        this.log.trace.record(item.offset, uid, now, "redriven", null, { dead_letter_offset: item.deadLetterOffset });
        this.log.metrics.add(uid, "redriven", 1);
        restored.push(item.dedupKey);
      }
    });
    return { restored, missing };
  }
}
