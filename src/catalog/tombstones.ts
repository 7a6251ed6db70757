// Tombstones: objects to retire after their catalog rows are gone (migrations/0006). A
// tombstone is written in the same D1 transaction that deletes the rows, so no object is ever
// orphaned: the deleting request retires them, and the cron finishes what it could not.

/** A surge's temporary partitions: generation and count name them (src/shared/object-names.ts). */
export interface SurgeObjects {
  subscriptionUid: string;
  generation: number;
  partitions: number;
}

/** What a tombstone asks for. Every step is idempotent, so a retried tombstone is harmless. */
export interface RetireWork {
  topic: string;
  topicUid: string;
  /** The topic's partitions: destroyed (the topic was deleted) or told to forget a subscription. */
  partitions: number;
  destroyTopic: boolean;
  /** A deleted subscription, to forget on every partition of the topic. */
  forgetSubscription: string | null;
  surges: SurgeObjects[];
}

export interface Tombstone {
  id: number;
  work: RetireWork;
  /** Objects already retired, in the order retireObjects walks them. */
  progress: number;
  attempts: number;
}

/** How long a tombstone that failed waits before the cron tries it again: 1, 2, 4 … 60 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(60, 2 ** Math.min(attempts, 6)) * 60_000;
}

export class Tombstones {
  constructor(private readonly db: D1Database) {}

  /** Tombstones whose time has come, oldest first. */
  async due(now: number, limit: number): Promise<Tombstone[]> {
    const { results } = await this.db
      .prepare("SELECT id, work, progress, attempts FROM tombstones WHERE next_at <= ? ORDER BY next_at LIMIT ?")
      .bind(now, limit)
      .all<{ id: number; work: string; progress: number; attempts: number }>();
    return results.map((r) => ({ ...r, work: JSON.parse(r.work) as RetireWork }));
  }

  async done(id: number): Promise<void> {
    await this.db.prepare("DELETE FROM tombstones WHERE id = ?").bind(id).run();
  }

  /** Records how far a tombstone got, and when to go on. */
  async later(tombstone: Tombstone, progress: number, now: number): Promise<void> {
    const attempts = tombstone.attempts + 1;
    await this.db
      .prepare("UPDATE tombstones SET progress = ?, attempts = ?, next_at = ? WHERE id = ?")
      .bind(progress, attempts, now + retryDelayMs(attempts), tombstone.id)
      .run();
  }
}
