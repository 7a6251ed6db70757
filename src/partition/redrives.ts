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
    // Keys are ASCII; ";" sorts right after ":", so [prefix, prefix with ";") is the range.
    const end = `${prefix.slice(0, -1)};`;
    const items: RedriveItem[] = [];
    let scannedTo = request.after;
    let bytes = 0;
    const rows = this.sql.exec<{ offset: number; dedup_key: string; headers: string | null }>(
      SQL.deadLettersOf,
      prefix,
      end,
      request.after,
      REDRIVE_SCAN_ROWS,
    );
    let scanned = 0;
    for (const row of rows) {
      scanned++;
      scannedTo = row.offset;
      bytes += row.headers?.length ?? 0;
      if (request.reason === null || (row.headers && (JSON.parse(row.headers) as Record<string, string>)[DEAD_LETTER_HEADERS.reason] === request.reason)) {
        const origin = parseDeadLetterKey(row.dedup_key);
        if (origin) items.push({ deadLetterOffset: row.offset, dedupKey: row.dedup_key, ...origin });
      }
      if (items.length >= request.max || bytes >= REDRIVE_SCAN_BYTES) return { items, scannedTo, done: false };
    }
    return { items, scannedTo, done: scanned < REDRIVE_SCAN_ROWS };
  }

  /** Dead-letter partition side: these dead letters went back; nobody here receives them now. */
  markRedriven(dedupKeys: readonly string[]): void {
    this.storage.transactionSync(() => {
      for (const key of dedupKeys) {
        for (const row of this.sql.exec<{ offset: number }>(SQL.logByDedupKey, key).toArray()) {
          this.sql.exec(SQL.logMarkRedriven, row.offset);
          this.sql.exec(SQL.deliveriesDeleteForOffset, row.offset);
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
        const log = this.sql.exec<{ key: string | null; priority: number }>(SQL.logExists, item.offset).toArray()[0];
        if (!log) {
          missing.push(item.dedupKey);
          continue;
        }
        const priority = sub.mode === "ordered" ? 0 : log.priority;
        this.sql.exec(SQL.deliveryRestore, uid, item.offset, log.key ?? "", priority);
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
