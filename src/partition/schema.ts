// The partition's SQLite schema as numbered steps. A released step is never edited: add a new
// one. The number applied is kept in `meta` (PRAGMA user_version is not available here).

const STEPS: readonly string[] = [
  // 1: the log, the subscriptions this partition serves, and their delivery state.
  `
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE log (
    offset INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    key TEXT,
    headers TEXT,
    body TEXT NOT NULL,
    priority INTEGER NOT NULL,
    produced_at INTEGER NOT NULL,
    -- When the message first becomes deliverable (0: at once).
    deliver_at INTEGER NOT NULL,
    -- 1 when the id was chosen by the producer and counts for deduplication.
    dedup INTEGER NOT NULL,
    -- 1 once cancelled by id before any subscription received it.
    cancelled INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL
  );
  CREATE INDEX log_by_id ON log (id);
  CREATE TABLE subscriptions (
    uid TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    since_ms INTEGER NOT NULL
  );
  -- One row per (subscription, unacked message). An ack deletes the row.
  -- state: 0 ready, 1 delayed (due_at = when it becomes ready), 2 leased (due_at = lease end).
  -- okey groups messages whose order an ordered subscription keeps: the key, or '' if keyless.
  -- priority is the message's for shared subscriptions and 0 for ordered ones.
  CREATE TABLE deliveries (
    sub TEXT NOT NULL,
    offset INTEGER NOT NULL,
    state INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    nonce TEXT,
    okey TEXT NOT NULL,
    priority INTEGER NOT NULL,
    PRIMARY KEY (sub, offset)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_ready ON deliveries (sub, state, priority DESC, offset);
  CREATE INDEX deliveries_due ON deliveries (state, due_at);
  CREATE INDEX deliveries_by_key ON deliveries (sub, okey, offset);
  `,
];

export const SCHEMA_VERSION = STEPS.length;

/** Brings the schema up to date in one transaction. Idempotent. */
export function migrate(storage: DurableObjectStorage): void {
  storage.transactionSync(() => {
    const sql = storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    const row = sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'schema'").toArray()[0];
    const applied = row?.value ?? 0;
    for (let step = applied; step < STEPS.length; step++) sql.exec(STEPS[step]!);
    if (applied < STEPS.length) {
      sql.exec("INSERT OR REPLACE INTO meta (name, value) VALUES ('schema', ?)", STEPS.length);
    }
  });
}
