import type { Clock } from "../shared/clock";
import type { PartitionLog, SurgeCopy } from "./log";
import { seedOf } from "./exceptions";
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
   * temporary partitions, marked moving (deliverable nowhere) in this transaction and cut at
   * SURGE_CHUNK_BYTES (at least one). Rows a previous move left moving come first; with
   * `onlyPending`, only they; else ready rows and new messages (which get their row first),
   * oldest first. Step 2 appends the copies, deduplicated by their origin; step 3
   * (finishSurgeMove) takes them out of here.
   */
  takeForSurge(uid: string, limit: number, onlyPending: boolean): SurgeCopy[] {
    const now = this.clock.now();
    const index = this.log.partitionIndex();
    const segments = this.log.segments;
    return this.storage.transactionSync(() => {
      const cut = (offsets: number[]): number[] => {
        const kept: number[] = [];
        let bytes = 0;
        const messages = segments.many(offsets);
        for (const offset of offsets) {
          const size = messages.get(offset)?.bytes ?? 0;
          if (kept.length > 0 && bytes + size > SURGE_CHUNK_BYTES) break;
          bytes += size;
          kept.push(offset);
        }
        return kept;
      };
      let offsets = cut(this.sql.exec<{ offset: number }>(SQL.surgeMoving, uid, limit).toArray().map((r) => r.offset));
      if (offsets.length === 0 && !onlyPending) {
        const rows = this.sql.exec<{ offset: number }>(SQL.surgeReady, uid, limit, now).toArray().map((r) => r.offset);
        const fresh = this.log.newMessages(uid, limit, now);
        offsets = cut([...rows, ...fresh.map((m) => m.offset)].sort((a, b) => a - b).slice(0, limit));
        const taken = new Set(offsets);
        this.log.exceptions.insert(uid, fresh.filter((m) => taken.has(m.offset)).map((m) => seedOf(m, "shared", now)));
        if (offsets.length > 0) this.sql.exec(SQL.surgeMark, uid, JSON.stringify(offsets), now);
      }
      if (offsets.length === 0) return [];
      const rows = this.sql
        .exec<{ offset: number; expires_at: number; attempt: number; nack_reason: string | null }>(SQL.surgeRows, uid, JSON.stringify(offsets))
        .toArray();
      const messages = segments.many(offsets);
      return rows
        .filter((r) => messages.has(r.offset))
        .map((r) => {
          const m = messages.get(r.offset)!;
          return {
            offset: m.offset,
            message: {
              id: m.id,
              idFromProducer: false,
              key: m.key,
              headers: m.headers,
              body: m.body,
              priority: m.priority,
              delayMs: 0,
              ttlMs: r.expires_at > 0 ? Math.max(1, r.expires_at - now) : null,
              dedupKey: `mv:${index}:${m.offset}`,
              origin: { partition: index, offset: m.offset, producedAt: m.producedAt },
              attempt: r.attempt,
              nackReason: r.nack_reason,
            },
          };
        });
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
