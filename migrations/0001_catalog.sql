-- The catalog: topics and their subscriptions. Partitions live in Durable Objects named
-- "<topic uid>:<index>"; a uid is new for each incarnation of a name, so a topic deleted and
-- created again starts empty.
CREATE TABLE topics (
  name TEXT PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL CHECK (partitions BETWEEN 1 AND 256),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE subscriptions (
  topic TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  uid TEXT NOT NULL UNIQUE,
  mode TEXT NOT NULL CHECK (mode IN ('shared', 'ordered')),
  start_position TEXT NOT NULL CHECK (start_position IN ('earliest', 'latest')),
  visibility_timeout_seconds INTEGER NOT NULL,
  max_deliveries INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (topic, name)
);
