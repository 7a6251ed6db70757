import type { NewMessage } from "../shared/partition-api";
import { SQL } from "./statements";
import { utf8Length } from "../shared/bytes";

/** A dead letter waiting in the outbox to be appended to its topic. */
export interface OutboxEntry {
  seq: number;
  subscriptionUid: string;
  message: NewMessage;
}

/**
 * The dead letters of this partition on their way to their dead-letter topic. A dead letter is
 * put here in the same transaction that takes it out of its subscription's delivery state
 * (PartitionLog.moveToDeadLetter), then appended to the dead-letter topic by the partition
 * (deduplicated by its key, so a repeat after a crash is harmless) and deleted.
 */
export class Outbox {
  constructor(private readonly sql: SqlStorage) {}

  put(subscriptionUid: string, message: NewMessage, now: number): void {
    this.sql.exec(SQL.outboxInsert, subscriptionUid, JSON.stringify(message), now);
  }

  /**
   * The oldest dead letters of one subscription still to append: at most `limit`, and at most
   * `budgetBytes` of stored JSON (at least one).
   */
  takeOf(subscriptionUid: string, limit: number, budgetBytes: number): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    for (const row of this.sql.exec<{ seq: number; sub: string; message: string }>(SQL.outboxTakeOf, subscriptionUid, limit)) {
      const size = utf8Length(row.message);
      if (entries.length > 0 && bytes + size > budgetBytes) break;
      bytes += size;
      entries.push({ seq: row.seq, subscriptionUid: row.sub, message: JSON.parse(row.message) as NewMessage });
    }
    return entries;
  }

  /** Forgets dead letters that their topic has stored. Call inside a transaction. */
  done(seqs: readonly number[]): void {
    for (const seq of seqs) this.sql.exec(SQL.outboxDelete, seq);
  }

  any(): boolean {
    return this.sql.exec(SQL.outboxAny).toArray().length > 0;
  }

  /** Dead letters waiting, per subscription uid. */
  counts(): Map<string, number> {
    return new Map(this.sql.exec<{ sub: string; n: number }>(SQL.outboxCount).toArray().map((r) => [r.sub, r.n]));
  }

  forget(subscriptionUid: string): void {
    this.sql.exec(SQL.outboxDeleteForSubscription, subscriptionUid);
  }
}
