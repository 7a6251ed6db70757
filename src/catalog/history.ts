// The dashboard's history of each topic (migrations/0008_topic_history.sql), written by the cron.

export interface HistorySample {
  topic: string;
  /** ms since epoch */
  at: number;
  producedTotal: number;
  ackedTotal: number;
  /** ready + delayed + in flight, over every subscription */
  backlog: number;
  inFlight: number;
  deadLetters: number;
}

export class History {
  constructor(private readonly db: D1Database) {}

  /** Writes one run's samples and drops those older than `keepSinceMs`, in one batch. */
  async record(samples: readonly HistorySample[], keepSinceMs: number): Promise<void> {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO topic_history (topic, at, produced_total, acked_total, backlog, in_flight, dead_letters)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    await this.db.batch([
      ...samples.map((s) => insert.bind(s.topic, s.at, s.producedTotal, s.ackedTotal, s.backlog, s.inFlight, s.deadLetters)),
      this.db.prepare("DELETE FROM topic_history WHERE at < ?").bind(keepSinceMs),
    ]);
  }

  /** A topic's samples since `sinceMs`, oldest first. */
  async of(topic: string, sinceMs: number): Promise<HistorySample[]> {
    const { results } = await this.db
      .prepare(
        `SELECT topic, at, produced_total, acked_total, backlog, in_flight, dead_letters
         FROM topic_history WHERE topic = ? AND at >= ? ORDER BY at`,
      )
      .bind(topic, sinceMs)
      .all<{ topic: string; at: number; produced_total: number; acked_total: number; backlog: number; in_flight: number; dead_letters: number }>();
    return results.map((r) => ({
      topic: r.topic,
      at: r.at,
      producedTotal: r.produced_total,
      ackedTotal: r.acked_total,
      backlog: r.backlog,
      inFlight: r.in_flight,
      deadLetters: r.dead_letters,
    }));
  }
}
