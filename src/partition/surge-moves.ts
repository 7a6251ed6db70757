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
   * temporary partitions, marked moving (deliverable nowhere) in this transaction and cut at
   * SURGE_CHUNK_BYTES. Messages a previous move left moving come first; with `onlyPending`,
   * only they. Step 2 appends the copies, deduplicated by their origin; step 3
   * (finishSurgeMove) takes them out of here.
   */
  takeForSurge(uid: string, limit: number, onlyPending: boolean): SurgeCopy[] {
    const now = this.clock.now();
    const index = this.log.partitionIndex();
    return this.log.takeForMove(uid, limit, onlyPending, SURGE_CHUNK_BYTES).map(({ message: m, attempt, nackReason, expiresAt }) => ({
      offset: m.offset,
      message: {
        id: m.id,
        idFromProducer: false,
        key: m.key,
        headers: m.headers,
        body: m.body,
        priority: m.priority,
        delayMs: 0,
        ttlMs: expiresAt > 0 ? Math.max(1, expiresAt - now) : null,
        dedupKey: `mv:${index}:${m.offset}`,
        origin: { partition: index, offset: m.offset, producedAt: m.producedAt },
        attempt,
        nackReason,
      },
    }));
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
