-- The dashboard's charts: one sample per topic per cron run (src/cron/history.ts), kept for
-- HISTORY_RETENTION_MS (2 hours). Totals are the topic's monotonic counters at `at` (rates are
-- their differences); the rest are gauges.
CREATE TABLE topic_history (
  topic TEXT NOT NULL,
  at INTEGER NOT NULL,
  produced_total INTEGER NOT NULL,
  acked_total INTEGER NOT NULL,
  backlog INTEGER NOT NULL,
  in_flight INTEGER NOT NULL,
  dead_letters INTEGER NOT NULL,
  PRIMARY KEY (topic, at)
);
CREATE INDEX topic_history_by_at ON topic_history (at);
