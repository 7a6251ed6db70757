// All SQL of a partition, named (schema.ts creates the tables). In SQL, `sub` is a
// subscription's uid. The delivery states are the constants below, written into the statements.
import { DUE_BATCH_ROWS } from "../shared/limits";

/** Deliverable now. */
export const READY = 0;
/** Waiting for due_at: a delay, or a nack's back-off. */
export const DELAYED = 1;
/** Leased to a consumer until due_at. */
export const LEASED = 2;
/** Being copied to a temporary surge partition: deliverable nowhere until the move is done. */
export const MOVING = 4;
/**
 * Dead-lettered, expired, or moved by a surge: done for the subscription here, but remembered until retention deletes
 * the message, so that a late ack of it answers not_in_flight rather than ok (an acked message
 * has no row). Counts nowhere and holds nothing.
 */
export const ENDED = 5;

export const SQL = {
  metaGet: "SELECT value FROM meta WHERE name = ?",
  metaSet: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
  metaSetCounters: "INSERT OR REPLACE INTO meta (name, value) VALUES ('next_offset', ?), ('cum_bytes', ?)",
  settingGet: "SELECT value FROM settings WHERE name = ?",
  settingSet: "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
  // Subscriptions deleted here, by uid: a uid is never used again, so a call naming one (from
  // a Worker whose catalog cache still has it) must not bring it back.
  forgottenAll: "SELECT substr(name, 11) AS uid FROM settings WHERE name LIKE 'forgotten:%'",
  forgottenAdd: "INSERT OR REPLACE INTO settings (name, value) VALUES ('forgotten:' || ?, '1')",

  subscriptionsAll: "SELECT uid, mode, since_ms, policy FROM subscriptions",
  subscriptionInsert: "INSERT INTO subscriptions (uid, mode, since_ms, policy) VALUES (?, ?, ?, ?)",
  subscriptionSetPolicy: "UPDATE subscriptions SET policy = ? WHERE uid = ?",
  subscriptionDelete: "DELETE FROM subscriptions WHERE uid = ?",
  deliveriesDeleteForSubscription: "DELETE FROM deliveries WHERE sub = ?",
  outboxDeleteForSubscription: "DELETE FROM dead_letter_outbox WHERE sub = ?",
  // Materializes delivery rows for a subscription from the retained log: ?3 is the first
  // produced_at (backfillSince) or the first offset (backfillFromOffset); ?4 is now.
  deliveriesBackfillSince: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at)
    SELECT ?1, offset, CASE WHEN deliver_at > ?4 THEN ${DELAYED} ELSE ${READY} END, CASE WHEN deliver_at > ?4 THEN deliver_at ELSE 0 END,
           0, NULL, COALESCE(key, ''), CASE WHEN ?2 = 'ordered' THEN 0 ELSE priority END, expires_at
    FROM log WHERE produced_at >= ?3 AND cancelled = 0 AND redriven = 0`,
  deliveriesBackfillFromOffset: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at)
    SELECT ?1, offset, CASE WHEN deliver_at > ?4 THEN ${DELAYED} ELSE ${READY} END, CASE WHEN deliver_at > ?4 THEN deliver_at ELSE 0 END,
           0, NULL, COALESCE(key, ''), CASE WHEN ?2 = 'ordered' THEN 0 ELSE priority END, expires_at
    FROM log WHERE offset >= ?3 AND cancelled = 0 AND redriven = 0 AND (expires_at = 0 OR expires_at > ?4)`,

  logFindDuplicate:
    "SELECT offset, produced_at FROM log WHERE dedup_key = ? AND produced_at >= ? AND cancelled = 0 ORDER BY offset LIMIT 1",
  logInsert: `
    INSERT INTO log (offset, id, key, headers, body, priority, produced_at, deliver_at, expires_at, dedup_key, bytes, cum_bytes,
                     origin_partition, origin_offset)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  logFindCopy: "SELECT offset, produced_at FROM log WHERE dedup_key = ? LIMIT 1",
  // The delivery rows of a subscription for the messages an append just wrote, offsets ?3 to
  // ?4 - 1: one statement per subscription and batch, not one per message.
  deliveriesForAppended: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at)
    SELECT ?1, offset, CASE WHEN deliver_at > 0 THEN ${DELAYED} ELSE ${READY} END, deliver_at,
           0, NULL, COALESCE(key, ''), CASE WHEN ?2 = 'ordered' THEN 0 ELSE priority END, expires_at
    FROM log WHERE offset >= ?3 AND offset < ?4`,
  // A surge copy takes up the attempt count and nack reason it had at its origin.
  deliveriesCarry: "UPDATE deliveries SET attempt = ?, nack_reason = ? WHERE offset = ?",
  logCumBytesBefore: "SELECT cum_bytes - bytes AS before FROM log WHERE offset = ?",
  subscriptionOldestOffset: `SELECT MIN(offset) AS offset FROM deliveries WHERE sub = ? AND state <> ${ENDED}`,
  deliveriesAtOffset: `SELECT sub FROM deliveries WHERE offset = ? AND sub = ? AND state NOT IN (${MOVING}, ${ENDED})`,

  logById: "SELECT offset, produced_at FROM log WHERE id = ? AND cancelled = 0",
  deliveryAttempt: "SELECT attempt FROM deliveries WHERE sub = ? AND offset = ?",
  logCancel: "UPDATE log SET cancelled = 1 WHERE offset = ?",
  deliveriesDeleteForOffset: "DELETE FROM deliveries WHERE offset = ?",
  logFirstOffsetSince: "SELECT MIN(offset) AS offset FROM log WHERE produced_at >= ?",

  // ?4 is a JSON array of offsets: one statement for a whole batch.
  deliveriesLease: `
    UPDATE deliveries SET state = ${LEASED}, due_at = ?1, attempt = attempt + 1, nonce = ?2
    WHERE sub = ?3 AND offset IN (SELECT value FROM json_each(?4))`,
  deliveriesGet: `
    SELECT offset, state, nonce, attempt FROM deliveries
    WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))`,
  deliveriesDelete: "DELETE FROM deliveries WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))",
  deliveryGet: "SELECT state, nonce, attempt FROM deliveries WHERE sub = ? AND offset = ?",
  deliveryDelete: "DELETE FROM deliveries WHERE sub = ? AND offset = ?",
  deliverySetState: "UPDATE deliveries SET state = ?, due_at = ? WHERE sub = ? AND offset = ?",
  deliveryEnd: `UPDATE deliveries SET state = ${ENDED}, due_at = 0, nonce = NULL WHERE sub = ? AND offset = ?`,
  deliverySetNackReason: "UPDATE deliveries SET nack_reason = ? WHERE sub = ? AND offset = ?",
  deliveryForDeadLetter: `
    SELECT d.attempt AS attempt, d.nack_reason AS nack_reason, l.id AS id, l.key AS key,
           l.headers AS headers, l.body AS body, l.priority AS priority,
           l.origin_partition AS origin_partition, l.origin_offset AS origin_offset
    FROM deliveries d JOIN log l ON l.offset = d.offset WHERE d.sub = ? AND d.offset = ? AND d.state <> ${ENDED}`,

  delayedDue: `SELECT DISTINCT sub FROM deliveries WHERE state = ${DELAYED} AND due_at <= ?`,
  delayedPromote: `UPDATE deliveries SET state = ${READY} WHERE state = ${DELAYED} AND due_at <= ?`,
  leasesEnded: `SELECT sub, offset, attempt FROM deliveries WHERE state = ${LEASED} AND due_at <= ? LIMIT ${DUE_BATCH_ROWS}`,
  expiredUnleased: `
    SELECT sub, offset FROM deliveries WHERE expires_at > 0 AND expires_at <= ? AND +state IN (${READY}, ${DELAYED}) LIMIT ${DUE_BATCH_ROWS}`,
  // Each walks its index from the start and stops at the first row: O(log n), whatever the backlog.
  nextDueOfState: "SELECT due_at AS due FROM deliveries WHERE state = ? ORDER BY due_at LIMIT 1",
  // "+state" keeps the planner on deliveries_expiring instead of scanning every ready row.
  nextExpiry: `SELECT expires_at AS due FROM deliveries WHERE expires_at > 0 AND +state IN (${READY}, ${DELAYED}) ORDER BY expires_at LIMIT 1`,
  oldestProduced: "SELECT produced_at FROM log ORDER BY offset LIMIT 1",
  // The oldest messages, for retention: it walks from the start and stops at the first young one.
  logOldest: "SELECT offset, produced_at FROM log WHERE offset >= ? ORDER BY offset LIMIT ?",
  // Acked (or dead-lettered, or cancelled) messages among ?1 (a JSON array of offsets); unacked stay.
  retentionDelete: `
    DELETE FROM log WHERE offset IN (SELECT value FROM json_each(?1))
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.sub IN (SELECT uid FROM subscriptions) AND d.offset = log.offset AND d.state <> ${ENDED})`,
  // The ended rows of the messages retention just deleted.
  retentionDeleteEnded: `
    DELETE FROM deliveries WHERE offset IN (SELECT value FROM json_each(?1)) AND state = ${ENDED}
      AND NOT EXISTS (SELECT 1 FROM log WHERE log.offset = deliveries.offset)`,

  outboxInsert: "INSERT INTO dead_letter_outbox (sub, message, created_at) VALUES (?, ?, ?)",
  outboxTakeOf: "SELECT seq, sub, message FROM dead_letter_outbox WHERE sub = ? ORDER BY seq LIMIT ?",
  outboxDelete: "DELETE FROM dead_letter_outbox WHERE seq = ?",
  outboxCount: "SELECT sub, COUNT(*) AS n FROM dead_letter_outbox GROUP BY sub",
  outboxAny: "SELECT 1 FROM dead_letter_outbox LIMIT 1",

  deadLettersOf: `
    SELECT offset, dedup_key, headers FROM log
    WHERE dedup_key >= ? AND dedup_key < ? AND offset > ? AND redriven = 0 AND cancelled = 0 ORDER BY offset LIMIT ?`,
  logByDedupKey: "SELECT offset FROM log WHERE dedup_key = ?",
  logMarkRedriven: "UPDATE log SET redriven = 1 WHERE offset = ?",
  redrivenGet: "SELECT 1 FROM redriven WHERE dedup_key = ?",
  redrivenInsert: "INSERT OR IGNORE INTO redriven (dedup_key) VALUES (?)",
  logExists: "SELECT key, priority FROM log WHERE offset = ?",
  // The log rows of a lease, by offset (?1 a JSON array): read only once the lease is cut to its byte budget.
  logRowsOf: `
    SELECT offset, id, key, headers, body, priority, produced_at, origin_partition, origin_offset
    FROM log WHERE offset IN (SELECT value FROM json_each(?1))`,
  deliveryRestore: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at)
    VALUES (?, ?, ${READY}, 0, 0, NULL, ?, ?, 0)
    ON CONFLICT (sub, offset) DO UPDATE SET state = ${READY}, due_at = 0, attempt = 0, nonce = NULL, expires_at = 0
      WHERE state = ${ENDED}`,

  // Surge: the rows a previous move left half done come first, then ready ones, oldest first.
  surgeMoving: `
    SELECT d.offset AS offset, l.bytes AS bytes FROM deliveries d JOIN log l ON l.offset = d.offset
    WHERE d.sub = ?1 AND d.state = ${MOVING} ORDER BY d.offset LIMIT ?2`,
  surgeReady: `
    SELECT d.offset AS offset, l.bytes AS bytes FROM deliveries d JOIN log l ON l.offset = d.offset
    WHERE d.sub = ?1 AND d.state = ${READY} AND (d.expires_at = 0 OR d.expires_at > ?3) ORDER BY d.offset LIMIT ?2`,
  // The rows of a chunk, once it is cut to its byte budget: ?2 a JSON array of offsets.
  surgeRows: `
    SELECT d.offset AS offset, d.expires_at AS expires_at, d.attempt AS attempt, d.nack_reason AS nack_reason, l.id AS id,
           l.key AS key, l.headers AS headers, l.body AS body, l.priority AS priority, l.produced_at AS produced_at
    FROM deliveries d JOIN log l ON l.offset = d.offset
    WHERE d.sub = ?1 AND d.offset IN (SELECT value FROM json_each(?2)) ORDER BY d.offset`,
  // The nonce goes: a receipt of an earlier delivery can no longer ack or extend the message here.
  // due_at of a moving row: when it was marked (see movingRelease).
  surgeMark: `UPDATE deliveries SET state = ${MOVING}, nonce = NULL, due_at = ?3 WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))`,
  // Moving rows marked before ?2, of a subscription no surge runs for: ready again.
  movingRelease: `UPDATE deliveries SET state = ${READY}, due_at = 0 WHERE sub = ?1 AND state = ${MOVING} AND due_at <= ?2`,
  // Moved: the row stays, ended, until retention, so that a cancel can tell "moved, never
  // received" (attempt 0) from "received", and a late receipt answers not_in_flight.
  surgeDone: `UPDATE deliveries SET state = ${ENDED}, due_at = 0 WHERE sub = ?1 AND state = ${MOVING} AND offset IN (SELECT value FROM json_each(?2))`,

  bellsAll: "SELECT sub, name, idx, seq, armed FROM bells",
  bellArm: "INSERT OR REPLACE INTO bells (sub, name, idx, seq, armed) VALUES (?, ?, ?, ?, 1)",
  bellDisarm: "UPDATE bells SET armed = 0 WHERE sub = ?",
  bellRearm: "UPDATE bells SET armed = 1 WHERE sub = ? AND seq = ?",
  bellForget: "DELETE FROM bells WHERE sub = ?",

  statsLog: "SELECT COUNT(*) AS messages, COALESCE(SUM(bytes), 0) AS bytes, MIN(offset) AS first FROM log",
  statsStates: "SELECT sub, state, COUNT(*) AS n FROM deliveries GROUP BY sub, state",
  statsOldest: `
    SELECT d.sub AS sub, MIN(l.produced_at) AS oldest
    FROM deliveries d JOIN log l ON l.offset = d.offset WHERE d.state <> ${ENDED} GROUP BY d.sub`,
} as const;

/**
 * The deliverable messages of a subscription, best first, with their log rows.
 * Shared: highest priority first, then oldest. Ordered: only the oldest unacked message of
 * each ordering key is a candidate (priority is 0 for ordered rows, so the order is by offset).
 * Messages past their TTL are never candidates. Each header filter adds one condition; its
 * name and value are bound as ?4, ?5, ?6, ?7, …. ?1 is the subscription, ?2 the limit, ?3 now.
 */
export function candidatesQuery(ordered: boolean, filters: number): string {
  const key = `${ordered ? "o" : "s"}${filters}`;
  let query = candidateQueries.get(key);
  if (query === undefined) {
    const conditions = ["d.sub = ?1", `d.state = ${READY}`, "(d.expires_at = 0 OR d.expires_at > ?3)"];
    if (ordered) {
      conditions.push(
        `NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.sub = ?1 AND e.okey = d.okey AND e.offset < d.offset AND e.state <> ${ENDED})`,
      );
    }
    for (let i = 0; i < filters; i++) {
      conditions.push(
        `EXISTS (SELECT 1 FROM json_each(l.headers) h WHERE h.key = ?${4 + 2 * i} AND h.value = ?${5 + 2 * i})`,
      );
    }
    query = `
      SELECT d.offset AS offset, d.attempt AS attempt, l.bytes AS bytes
      FROM deliveries d JOIN log l ON l.offset = d.offset
      WHERE ${conditions.join(" AND ")}
      ORDER BY d.priority DESC, d.offset
      LIMIT ?2`;
    candidateQueries.set(key, query);
  }
  return query;
}
const candidateQueries = new Map<string, string>();

// Transactions (transactions.ts): shares and their prepared messages; records on the home partition.
export const TRANSACTION_SQL = {
  shareGet: "SELECT txn, home, state, prepared_at, results FROM txn_shares WHERE txn = ?",
  shareInsert:
    "INSERT INTO txn_shares (txn, home, state, prepared_at, ask_at, results, resolved_at) VALUES (?, ?, 'prepared', ?, ?, NULL, NULL)",
  shareResolve: "UPDATE txn_shares SET state = ?, results = ?, resolved_at = ?, ask_at = 0 WHERE txn = ?",
  shareTombstone:
    "INSERT INTO txn_shares (txn, home, state, prepared_at, ask_at, results, resolved_at) VALUES (?, -1, ?, ?, 0, ?, ?)",
  sharesToAsk: "SELECT txn, home FROM txn_shares WHERE ask_at > 0 AND ask_at <= ? ORDER BY ask_at LIMIT ?",
  shareAskAt: "UPDATE txn_shares SET ask_at = ? WHERE txn = ? AND state = 'prepared'",
  sharesForget: "DELETE FROM txn_shares WHERE resolved_at IS NOT NULL AND resolved_at < ?",
  messageInsert: `
    INSERT INTO txn_messages (txn, seq, id, id_from_producer, key, headers, body, priority, deliver_at, ttl_ms, dup_offset, dup_produced_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  messagesOf: `
    SELECT id, id_from_producer, key, headers, body, priority, deliver_at, ttl_ms, dup_offset, dup_produced_at
    FROM txn_messages WHERE txn = ? ORDER BY seq`,
  messagesDelete: "DELETE FROM txn_messages WHERE txn = ?",

  recordGet: "SELECT * FROM transactions WHERE id = ?",
  recordInsert: `
    INSERT INTO transactions (id, state, reason, created_at, expires_at, decided_at, check_url, max_checks, interval_ms, checks, due_at,
                              messages, pending, results)
    VALUES (?, 'prepared', NULL, ?, ?, NULL, ?, ?, ?, 0, ?, ?, ?, '{}')`,
  recordTombstone: `
    INSERT INTO transactions (id, state, reason, created_at, expires_at, decided_at, check_url, max_checks, interval_ms, checks, due_at,
                              messages, pending, results)
    VALUES (?, 'rolled_back', 'timeout', ?, ?, ?, NULL, 0, 0, 0, 0, '[]', '[]', '{}')`,
  recordDecide: "UPDATE transactions SET state = ?, reason = ?, decided_at = ?, due_at = ? WHERE id = ? AND state = 'prepared'",
  recordProgress: "UPDATE transactions SET pending = ?, results = ?, due_at = ? WHERE id = ?",
  recordDueAt: "UPDATE transactions SET due_at = ? WHERE id = ?",
  recordCheck: "UPDATE transactions SET checks = checks + 1, due_at = ? WHERE id = ? AND state = 'prepared'",
  recordsDue: "SELECT id FROM transactions WHERE due_at > 0 AND due_at <= ? ORDER BY due_at LIMIT ?",
  // The next transaction work of either kind, in one statement (asked after every change).
  nextDue: `
    SELECT MIN(due) AS due FROM (
      SELECT MIN(due_at) AS due FROM transactions WHERE due_at > 0
      UNION ALL SELECT MIN(ask_at) FROM txn_shares WHERE ask_at > 0)`,
  recordsOpen: "SELECT COUNT(*) AS n FROM transactions WHERE state = 'prepared'",
  recordsForget: "DELETE FROM transactions WHERE state != 'prepared' AND decided_at < ? AND pending = '[]'",
} as const;
