-- Per-topic delivery settings (delays, deduplication, retention, TTL, length limits) and
-- per-subscription retry and replay settings. NULL limits mean "no limit".
ALTER TABLE topics ADD COLUMN dedup_window_seconds INTEGER NOT NULL DEFAULT 86400;
ALTER TABLE topics ADD COLUMN default_delay_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE topics ADD COLUMN retention_seconds INTEGER NOT NULL DEFAULT 345600;
ALTER TABLE topics ADD COLUMN message_ttl_seconds INTEGER;
ALTER TABLE topics ADD COLUMN expired_action TEXT NOT NULL DEFAULT 'drop' CHECK (expired_action IN ('drop', 'dead_letter'));
ALTER TABLE topics ADD COLUMN max_messages INTEGER;
ALTER TABLE topics ADD COLUMN max_bytes INTEGER;
ALTER TABLE topics ADD COLUMN overflow TEXT NOT NULL DEFAULT 'reject' CHECK (overflow IN ('reject', 'drop_oldest'));

ALTER TABLE subscriptions ADD COLUMN dead_letter_topic TEXT;
ALTER TABLE subscriptions ADD COLUMN backoff TEXT NOT NULL DEFAULT 'exponential' CHECK (backoff IN ('fixed', 'exponential'));
ALTER TABLE subscriptions ADD COLUMN backoff_initial_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN backoff_max_seconds INTEGER NOT NULL DEFAULT 300;
ALTER TABLE subscriptions ADD COLUMN backoff_jitter REAL NOT NULL DEFAULT 0.1;
ALTER TABLE subscriptions ADD COLUMN last_seek_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN last_seek_to TEXT;
