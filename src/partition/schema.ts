// The partition's SQLite schema as numbered steps. A released step is never edited: add a new
// one. The number applied is kept in `meta` (PRAGMA user_version is not available here).

const STEPS: readonly string[] = [
  // 1: the log, the subscriptions this partition serves, their delivery state, and the
  // dead letters on their way out.
  `
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
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
    -- When it expires undelivered (message TTL; 0: never).
    expires_at INTEGER NOT NULL,
    -- What deduplicates it: the producer's id, or a dead letter's origin; NULL: nothing.
    dedup_key TEXT,
    -- 1 once cancelled by id before any subscription received it.
    cancelled INTEGER NOT NULL DEFAULT 0,
    -- 1 once a dead letter has been moved back to its source by a redrive.
    redriven INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL,
    -- Bytes of all messages up to and including this one, for backlog sizes.
    cum_bytes INTEGER NOT NULL,
    -- In a temporary (surge) partition: where the message was produced.
    origin_partition INTEGER,
    origin_offset INTEGER
  );
  CREATE INDEX log_by_id ON log (id);
  CREATE INDEX log_by_dedup_key ON log (dedup_key) WHERE dedup_key IS NOT NULL;
  -- policy: the subscription's DeliveryPolicy as JSON, refreshed by every call that names it.
  CREATE TABLE subscriptions (
    uid TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    policy TEXT
  );
  -- One row per (subscription, unacked message). An ack deletes the row.
  -- state: 0 ready, 1 delayed (due_at = when it becomes ready), 2 leased (due_at = lease end),
  -- 4 moving (being copied to a temporary surge partition; deliverable nowhere until done).
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
    expires_at INTEGER NOT NULL,
    nack_reason TEXT,
    PRIMARY KEY (sub, offset)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_ready ON deliveries (sub, state, priority DESC, offset);
  CREATE INDEX deliveries_due ON deliveries (state, due_at);
  CREATE INDEX deliveries_by_key ON deliveries (sub, okey, offset);
  CREATE INDEX deliveries_expiring ON deliveries (expires_at) WHERE expires_at > 0;
  -- Dead letters written here in the same transaction that takes them out of deliveries, then
  -- appended to the dead-letter topic (deduplicated by their key) and deleted.
  CREATE TABLE dead_letter_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sub TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  -- Dead letters already brought back by a redrive, so that a retried redrive is a no-op.
  CREATE TABLE redriven (dedup_key TEXT PRIMARY KEY) WITHOUT ROWID;
  `,
  // 2: the doorbells this partition rings, per subscription (src/partition/bells.ts): written
  // when a subscription's doorbell changes. Only `name` and `idx` are read back: arming is memory
  // only and seqs come from the epoch in `settings` (`seq` and `armed` are written, not read).
  `
  CREATE TABLE bells (
    sub TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    idx INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    armed INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: transactions (src/partition/transactions.ts). A share is this partition's part of a
  // transaction: its prepared messages, in txn_messages, invisible to every subscription until
  // the decision comes; kept after it (state, results) so that applying it again changes nothing.
  // A transaction whose home is this partition has its one record, the decision, in transactions.
  `
  CREATE TABLE txn_shares (
    txn TEXT PRIMARY KEY,
    home INTEGER NOT NULL,
    state TEXT NOT NULL,
    prepared_at INTEGER NOT NULL,
    -- When to ask the home partition for a decision that has not come (0: never).
    ask_at INTEGER NOT NULL,
    -- Once committed: JSON [[offset, produced_at, duplicate], ...] in share order.
    results TEXT,
    resolved_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX txn_shares_ask ON txn_shares (ask_at) WHERE ask_at > 0;
  CREATE INDEX txn_shares_resolved ON txn_shares (resolved_at) WHERE resolved_at IS NOT NULL;
  -- deliver_at: when the message becomes deliverable (fixed at prepare; 0: at once).
  -- dup_offset: the log offset of an earlier copy of the id found at prepare (then not appended).
  CREATE TABLE txn_messages (
    txn TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    id_from_producer INTEGER NOT NULL,
    key TEXT,
    headers TEXT,
    body TEXT NOT NULL,
    priority INTEGER NOT NULL,
    deliver_at INTEGER NOT NULL,
    ttl_ms INTEGER,
    dup_offset INTEGER,
    dup_produced_at INTEGER,
    PRIMARY KEY (txn, seq)
  ) WITHOUT ROWID;
  -- due_at: the next work for this record: its timeout or next check-back while prepared, the
  -- next try to tell participants of the decision while some have not applied it; 0: none.
  CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reason TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_at INTEGER,
    check_url TEXT,
    max_checks INTEGER NOT NULL,
    interval_ms INTEGER NOT NULL,
    checks INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    -- JSON [[message id, partition], ...] in request order.
    messages TEXT NOT NULL,
    -- JSON [partition, ...]: participants that have not yet applied the decision.
    pending TEXT NOT NULL,
    -- JSON {partition: [[offset, produced_at, duplicate], ...]} of the participants that applied a commit.
    results TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX transactions_due ON transactions (due_at) WHERE due_at > 0;
  CREATE INDEX transactions_by_state ON transactions (state, decided_at);
  `,
  // 4: observability. counters: monotonic totals per subscription for /metrics
  // (src/partition/counters.ts). trace_events: only the exceptional events of
  // a message's trace (src/partition/trace.ts); the happy path is derived from log and deliveries.
  `
  CREATE TABLE counters (
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (sub, name, reason)
  ) WITHOUT ROWID;
  CREATE TABLE trace_events (
    offset INTEGER NOT NULL,
    sub TEXT NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    attempt INTEGER,
    detail TEXT
  );
  CREATE INDEX trace_events_by_offset ON trace_events (offset);
  `,
  // 5: the segment model (docs/storage.md). Messages in segments, one row per produce batch;
  // per shared subscription a cursor and runs; `deliveries` keeps only the messages the cursor
  // and runs cannot stand for. The log's rows become one-message segments (a migrated
  // partition's old messages cost their rows once more, and no more); the delivery rows stay
  // as they are (each unacked message keeps its state, attempt and nonce, so a receipt handed
  // out before the upgrade acks after it); every cursor starts at the next offset, so nothing
  // old counts as new twice.
  `
  CREATE TABLE segments (
    first INTEGER PRIMARY KEY,
    last INTEGER NOT NULL,
    -- When the segment was written (the dedup window counts from it).
    appended_at INTEGER NOT NULL,
    -- The newest produced_at of its messages (retention deletes the segment after it).
    produced_to INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    -- Bytes of all messages up to and including this segment, for backlog sizes.
    cum_bytes INTEGER NOT NULL,
    -- The earliest expires_at of its messages (0: none expires).
    min_expires_at INTEGER NOT NULL,
    -- JSON array of each message's dedup key (or null); NULL when none has one.
    keys TEXT,
    -- 1 if it holds surge copies (deduplicated for as long as they are held).
    copies INTEGER NOT NULL,
    -- JSON array of message tuples (segments.ts Tuple).
    messages TEXT NOT NULL,
    -- A one-message segment of a big message: its body and headers, raw.
    body TEXT,
    headers TEXT
  );
  INSERT INTO segments (first, last, appended_at, produced_to, bytes, cum_bytes, min_expires_at, keys, copies, messages, body, headers)
    SELECT offset, offset, produced_at, produced_at, bytes, cum_bytes, expires_at,
           CASE WHEN dedup_key IS NULL THEN NULL ELSE json_array(dedup_key) END,
           CASE WHEN origin_offset IS NULL THEN 0 ELSE 1 END,
           json_array(json_array(id, key, NULL, NULL, priority, produced_at, deliver_at, expires_at, dedup_key, bytes,
                                 origin_partition, origin_offset)),
           body, headers
    FROM log;
  -- What happened to a message after it was appended: 'cancelled' or 'redriven'.
  CREATE TABLE marks (offset INTEGER PRIMARY KEY, mark TEXT NOT NULL);
  INSERT INTO marks (offset, mark)
    SELECT offset, CASE WHEN cancelled = 1 THEN 'cancelled' ELSE 'redriven' END FROM log WHERE cancelled = 1 OR redriven = 1;
  CREATE TABLE cursors (sub TEXT PRIMARY KEY, read_to INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO cursors (sub, read_to)
    SELECT uid, COALESCE((SELECT value FROM meta WHERE name = 'next_offset'), 0) FROM subscriptions WHERE mode = 'shared';
  -- held: JSON array of the offsets the run still leases (attempt 1 each).
  CREATE TABLE runs (
    sub TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    nonce TEXT NOT NULL,
    leased_at INTEGER NOT NULL,
    held TEXT NOT NULL,
    PRIMARY KEY (sub, first)
  ) WITHOUT ROWID;
  -- A run acked whole: when it was leased and when its last message was acked, for the trace
  -- (src/partition/trace.ts); deleted with the segment that holds its first message.
  CREATE TABLE run_history (
    sub TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    leased_at INTEGER NOT NULL,
    acked_at INTEGER NOT NULL,
    PRIMARY KEY (sub, first)
  ) WITHOUT ROWID;
  -- The dedup index's older keys (src/partition/dedup.ts): a Bloom filter per block of keys,
  -- naming the segments [first, last] to look in; one row per DEDUP_BLOCK_IDS keys.
  CREATE TABLE dedup_blocks (
    first INTEGER PRIMARY KEY,
    last INTEGER NOT NULL,
    appended_to INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    bits BLOB NOT NULL
  );
  DROP TABLE log;
  -- Ordered subscriptions: only the head of each key is ready (statements.ts HELD).
  UPDATE deliveries SET state = 3
    WHERE state = 0 AND sub IN (SELECT uid FROM subscriptions WHERE mode = 'ordered')
      AND EXISTS (SELECT 1 FROM deliveries e WHERE e.sub = deliveries.sub AND e.okey = deliveries.okey
                  AND e.offset < deliveries.offset AND e.state < 5);
  `,
  // 6: a transaction's messages in their trace (src/partition/transaction-trace.ts). A committed
  // share keeps the offsets its one append gave it (first_offset..last_offset); the index on them
  // is the one row a commit adds per partition. A rolled-back share's messages move from
  // txn_messages to txn_rolled_back, found by id, forgotten with their share.
  `
  ALTER TABLE txn_shares ADD COLUMN first_offset INTEGER;
  ALTER TABLE txn_shares ADD COLUMN last_offset INTEGER;
  CREATE INDEX txn_shares_by_offset ON txn_shares (first_offset) WHERE first_offset IS NOT NULL;
  CREATE TABLE txn_rolled_back (
    txn TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    key TEXT,
    headers TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (txn, seq)
  ) WITHOUT ROWID;
  CREATE INDEX txn_rolled_back_by_id ON txn_rolled_back (id);
  `,
];

/**
 * Brings the schema up to date (or up to step `upTo`: the migration test writes rows the way an
 * older release did) in one transaction. Idempotent.
 */
export function migrate(storage: DurableObjectStorage, upTo: number = STEPS.length): void {
  storage.transactionSync(() => {
    const sql = storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    const row = sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'schema'").toArray()[0];
    const applied = row?.value ?? 0;
    for (let step = applied; step < upTo; step++) sql.exec(STEPS[step]!);
    if (applied < upTo) sql.exec("INSERT OR REPLACE INTO meta (name, value) VALUES ('schema', ?)", upTo);
  });
}
