import type { Clock } from "../shared/clock";
import type { PartitionLog, SurgeCopy } from "./log";
import { SQL } from "./statements";
import { SURGE_CHUNK_BYTES } from "../shared/limits";

/**
 * The source side of a backlog surge (docs/surge.md): taking a subscription's ready messages
 * out in chunks, crash-safely, for the temporary partitions.
 */
export class SurgeMoves {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: Clock,
    private readonly log: PartitionLog,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /**
   * Source side of a surge move, step 1: the next `limit` messages of `uid` to copy to the
   * temporary partitions, marked moving (deliverable nowhere) in this transaction. Messages a
   * previous move left moving come first; with `onlyPending`, only they. Step 2 appends the
   * copies, deduplicated by their origin; step 3 (finishSurgeMove) takes them out of here.
   */
  takeForSurge(uid: string, limit: number, onlyPending: boolean): SurgeCopy[] {
    const now = this.clock.now();
    const index = this.log.partitionIndex();
    return this.storage.transactionSync(() => {
      type Row = { offset: number; expires_at: number; attempt: number; nack_reason: string | null; id: string; key: string | null; headers: string | null; body: string; priority: number; produced_at: number };
      // Offsets and sizes first; the chunk is cut at SURGE_CHUNK_BYTES (at least one) before any body is read.
      const cut = (sizes: { offset: number; bytes: number }[]): number[] => {
        const offsets: number[] = [];
        let bytes = 0;
        for (const row of sizes) {
          if (offsets.length > 0 && bytes + row.bytes > SURGE_CHUNK_BYTES) break;
          bytes += row.bytes;
          offsets.push(row.offset);
        }
        return offsets;
      };
      let offsets = cut(this.sql.exec<{ offset: number; bytes: number }>(SQL.surgeMoving, uid, limit).toArray());
      if (offsets.length === 0 && !onlyPending) {
        offsets = cut(this.sql.exec<{ offset: number; bytes: number }>(SQL.surgeReady, uid, limit, now).toArray());
        if (offsets.length > 0) this.sql.exec(SQL.surgeMark, uid, JSON.stringify(offsets), now);
      }
      const rows = offsets.length === 0 ? [] : this.sql.exec<Row>(SQL.surgeRows, uid, JSON.stringify(offsets)).toArray();
      return rows.map((row) => ({
        offset: row.offset,
        message: {
          id: row.id,
          idFromProducer: false,
          key: row.key,
          headers: row.headers,
          body: row.body,
          priority: row.priority,
          delayMs: 0,
          ttlMs: row.expires_at > 0 ? Math.max(1, row.expires_at - now) : null,
          dedupKey: `mv:${index}:${row.offset}`,
          origin: { partition: index, offset: row.offset, producedAt: row.produced_at },
          attempt: row.attempt,
          nackReason: row.nack_reason,
        },
      }));
    });
  }

  /** Source side of a surge move, step 3: the copies are stored; the messages leave here. */
  finishSurgeMove(uid: string, offsets: readonly number[], partitionOf: (offset: number) => number): void {
    const now = this.clock.now();
    this.storage.transactionSync(() => {
      this.sql.exec(SQL.surgeDone, uid, JSON.stringify(offsets));
      // observe:
      for (const offset of offsets) this.log.trace.record(offset, uid, now, "moved", null, { partition: partitionOf(offset) });
    });
  }
}
