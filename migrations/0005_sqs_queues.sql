-- What an SQS queue (a topic with a subscription named `sqs`, src/sqs) has beyond its topic
-- and subscription: queue attributes that no Weir setting holds. Keyed by the topic's uid, so a
-- queue deleted and made again under its name starts from the defaults. A queue without a row
-- has the defaults (0, 0).
CREATE TABLE sqs_queues (
  topic_uid TEXT PRIMARY KEY,
  receive_wait_seconds INTEGER NOT NULL DEFAULT 0,
  content_based_deduplication INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
