-- API keys. The secret itself is never stored: only the hex SHA-256 of its random part, which
-- the Worker compares in constant time. `scopes` is a JSON array of scope strings
-- (src/shared/scopes.ts); rate limits are requests per second, NULL: unlimited.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  scopes TEXT NOT NULL,
  produce_per_second INTEGER,
  receive_per_second INTEGER,
  created_at INTEGER NOT NULL
);
