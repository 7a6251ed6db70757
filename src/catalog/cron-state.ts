// The cron's own state in the catalog (migrations/0006): a lease per duty, so that two runs
// that overlap (a run that outlasts its minute, a manual trigger during a run) never do the
// same duty at once, and small values that carry a duty from one run to the next.

export class CronState {
  constructor(private readonly db: D1Database) {}

  /**
   * Takes the lease of duty `name` for `holder` until `now + ttlMs`, if nobody holds it now.
   * Returns whether it was taken. The lease ends by itself: a run that crashed blocks the duty
   * for ttlMs at most.
   */
  async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const result = await this.db
      .prepare(
        `INSERT INTO cron_state (name, holder, lease_until) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET holder = ?2, lease_until = ?3 WHERE cron_state.lease_until <= ?4`,
      )
      .bind(name, holder, now + ttlMs, now)
      .run();
    return result.meta.changes === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.prepare("UPDATE cron_state SET lease_until = 0 WHERE name = ? AND holder = ?").bind(name, holder).run();
  }

  async value(name: string): Promise<string | null> {
    const row = await this.db.prepare("SELECT value FROM cron_state WHERE name = ?").bind(name).first<{ value: string | null }>();
    return row?.value ?? null;
  }

  async setValue(name: string, value: string): Promise<void> {
    await this.db
      .prepare("INSERT INTO cron_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
      .bind(name, value)
      .run();
  }
}
