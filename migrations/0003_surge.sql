-- Backlog surge: per-subscription settings, and the state the cron keeps for a running surge.
ALTER TABLE subscriptions ADD COLUMN surge_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN surge_trigger_depth INTEGER;
ALTER TABLE subscriptions ADD COLUMN surge_trigger_age_seconds INTEGER;
ALTER TABLE subscriptions ADD COLUMN surge_factor INTEGER NOT NULL DEFAULT 4;
ALTER TABLE subscriptions ADD COLUMN surge_cooldown_seconds INTEGER NOT NULL DEFAULT 60;
-- off | active (moving the backlog) | draining (trigger clear, waiting for the temporary partitions to empty)
ALTER TABLE subscriptions ADD COLUMN surge_state TEXT NOT NULL DEFAULT 'off';
ALTER TABLE subscriptions ADD COLUMN surge_partitions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN surge_started_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN surge_calm_since INTEGER;
-- Why the cron does not surge this subscription although it is over its trigger, if it does not.
ALTER TABLE subscriptions ADD COLUMN surge_note TEXT;
