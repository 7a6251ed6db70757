-- Objects whose catalog rows are gone but which may still hold data or alarms: a topic's
-- partitions, a deleted subscription's state on them, a surge's temporary partitions. The
-- request that deleted the rows writes the tombstone in the same transaction, then retires the
-- objects; what it could not finish, the cron retires later (src/cron/tombstones.ts).
-- `work` is JSON (src/catalog/tombstones.ts: RetireWork); `progress` counts objects done.
CREATE TABLE tombstones (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  work TEXT NOT NULL,
  progress INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_at INTEGER NOT NULL
);
CREATE INDEX tombstones_due ON tombstones (next_at);

-- The cron's surge step reads only subscriptions with surge on or one running.
CREATE INDEX subscriptions_surging ON subscriptions (topic, name) WHERE surge_enabled = 1 OR surge_state <> 'off';

-- The cron's own state: a lease per duty, so that overlapping runs never do the same work, and
-- where the sweep goes on from.
CREATE TABLE cron_state (
  name TEXT PRIMARY KEY,
  holder TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0,
  value TEXT
);
