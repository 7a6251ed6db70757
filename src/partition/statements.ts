// All SQL of a partition, named (schema.ts creates the tables). In SQL, `sub` is a
// subscription's uid. The delivery states are the constants below, written into the statements.
import { DUE_BATCH_ROWS } from "../shared/limits";

/** Deliverable now. */
export const READY = 0;
/** Waiting for due_at: a delay, or a nack's back-off. */
export const DELAYED = 1;
/** Leased to a consumer until due_at. */
export const LEASED = 2;
/**
 * Ordered subscriptions only: waiting behind an earlier unacked message of its key. Only the
 * oldest live row of a key (its head) is ever ready, so a lease reads ready rows and nothing
 * else; when the head leaves, the next row of the key becomes ready (PartitionLog.refreshKey).
 */
export const HELD = 3;
/** Being copied to a temporary surge partition: deliverable nowhere until the move is done. */
export const MOVING = 4;
/**
 * Dead-lettered, expired, or moved by a surge: done for the subscription here, but remembered until retention deletes
 * the message, so that a late ack of it answers not_in_flight rather than ok (an acked message
 * has no row). Counts nowhere and holds nothing.
 */
export const ENDED = 5;
/**
 * Acked, at or past a shared subscription's cursor (a filtered or out-of-order lease): the row
 * stays until retention so that the cursor walks past the message instead of serving it again.
 * Like ENDED it counts nowhere and holds nothing; every state from ENDED on is such an end.
 */
export const ACKED = 6;

export const SQL = {
  metaGet: "SELECT value FROM meta WHERE name = ?",
  metaSet: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
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

  subscriptionOldestOffset: `SELECT MIN(offset) AS offset FROM deliveries WHERE sub = ? AND state < ${ENDED}`,

  deliveriesDeleteForOffset: "DELETE FROM deliveries WHERE offset = ?",

  // ?4 is a JSON array of offsets: one statement for a whole batch.
  deliveriesLease: `
    UPDATE deliveries SET state = ${LEASED}, due_at = ?1, attempt = attempt + 1, nonce = ?2
    WHERE sub = ?3 AND offset IN (SELECT value FROM json_each(?4))`,
  deliveriesGet: `
    SELECT offset, state, nonce, attempt, due_at, okey FROM deliveries
    WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))`,
  deliveryGet: "SELECT state, nonce, attempt, due_at, okey FROM deliveries WHERE sub = ? AND offset = ?",
  // The first two live rows of an ordering key: its head and the next in line.
  keyHead: `SELECT offset, state FROM deliveries WHERE sub = ? AND okey = ? AND state < ${ENDED} ORDER BY offset LIMIT 2`,
  keyBusy: `SELECT 1 FROM deliveries WHERE sub = ? AND okey = ? AND state < ${ENDED} LIMIT 1`,
  // Ready rows of an ordered subscription that are not their key's head (a delay that ended
  // behind an earlier message of its key): held again. Reads the ready rows: one per key.
  readyNotHead: `
    UPDATE deliveries SET state = ${HELD} WHERE sub = ?1 AND state = ${READY}
      AND EXISTS (SELECT 1 FROM deliveries e WHERE e.sub = ?1 AND e.okey = deliveries.okey AND e.offset < deliveries.offset AND e.state < ${ENDED})`,
  // The rows of messages that the cursor and runs cannot stand for (log.ts ExceptionSeed):
  // ?2 is a JSON array of [offset, state, due_at, attempt, nonce, okey, priority, expires_at, nack_reason].
  exceptionsInsert: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at, nack_reason)
    SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
           json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'),
           json_extract(value, '$[8]')
    FROM json_each(?2)`,
  exceptionsInRange: "SELECT offset FROM deliveries WHERE sub = ? AND offset >= ? AND offset <= ?",
  // The highest offset with a row: the last entry of the (sub, offset) key, O(log n).
  rowCeiling: "SELECT MAX(offset) AS top FROM deliveries WHERE sub = ?",
  liveRowInRange: `SELECT 1 FROM deliveries WHERE sub = ? AND offset >= ? AND offset <= ? AND state < ${ENDED} LIMIT 1`,
  endedDeleteInRange: `DELETE FROM deliveries WHERE sub = ? AND offset >= ? AND offset <= ? AND state >= ${ENDED}`,
  rowsFrom: "SELECT COUNT(*) AS n FROM deliveries WHERE sub = ? AND offset >= ?",
  marksFrom: "SELECT COUNT(*) AS n FROM marks WHERE offset >= ?",
  deliveryForDeadLetter: `SELECT attempt, nack_reason FROM deliveries WHERE sub = ? AND offset = ? AND state < ${ENDED}`,
  deliveriesDelete: "DELETE FROM deliveries WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))",
  deliveriesAck: `UPDATE deliveries SET state = ${ACKED}, due_at = 0, nonce = NULL WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))`,
  deliverySetState: "UPDATE deliveries SET state = ?, due_at = ? WHERE sub = ? AND offset = ?",
  deliveryEnd: `UPDATE deliveries SET state = ${ENDED}, due_at = 0, nonce = NULL WHERE sub = ? AND offset = ?`,
  deliverySetNackReason: "UPDATE deliveries SET nack_reason = ? WHERE sub = ? AND offset = ?",

  delayedDue: `SELECT DISTINCT sub FROM deliveries WHERE state = ${DELAYED} AND due_at <= ?`,
  delayedPromote: `UPDATE deliveries SET state = ${READY} WHERE state = ${DELAYED} AND due_at <= ?`,
  leasesEnded: `SELECT sub, offset, attempt FROM deliveries WHERE state = ${LEASED} AND due_at <= ? LIMIT ${DUE_BATCH_ROWS}`,
  expiredUnleased: `
    SELECT sub, offset FROM deliveries WHERE expires_at > 0 AND expires_at <= ? AND +state IN (${READY}, ${DELAYED}, ${HELD}) LIMIT ${DUE_BATCH_ROWS}`,
  // Each walks its index from the start and stops at the first row: O(log n), whatever the backlog.
  nextDueOfState: "SELECT due_at AS due FROM deliveries WHERE state = ? ORDER BY due_at LIMIT 1",
  // "+state" keeps the planner on deliveries_expiring instead of scanning every ready row.
  nextExpiry: `SELECT expires_at AS due FROM deliveries WHERE expires_at > 0 AND +state IN (${READY}, ${DELAYED}, ${HELD}) ORDER BY expires_at LIMIT 1`,

  outboxInsert: "INSERT INTO dead_letter_outbox (sub, message, created_at) VALUES (?, ?, ?)",
  outboxTakeOf: "SELECT seq, sub, message FROM dead_letter_outbox WHERE sub = ? ORDER BY seq LIMIT ?",
  outboxDelete: "DELETE FROM dead_letter_outbox WHERE seq = ?",
  outboxCount: "SELECT sub, COUNT(*) AS n FROM dead_letter_outbox GROUP BY sub",
  outboxAny: "SELECT 1 FROM dead_letter_outbox LIMIT 1",

  redrivenGet: "SELECT 1 FROM redriven WHERE dedup_key = ?",
  redrivenInsert: "INSERT OR IGNORE INTO redriven (dedup_key) VALUES (?)",
  deliveryRestore: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at)
    VALUES (?, ?, ${READY}, 0, 0, NULL, ?, ?, 0)
    ON CONFLICT (sub, offset) DO UPDATE SET state = ${READY}, due_at = 0, attempt = 0, nonce = NULL, expires_at = 0
      WHERE state = ${ENDED}`,

  surgeMoving: `SELECT offset FROM deliveries WHERE sub = ?1 AND state = ${MOVING} ORDER BY offset LIMIT ?2`,
  surgeReady: `
    SELECT offset FROM deliveries WHERE sub = ?1 AND state = ${READY} AND (expires_at = 0 OR expires_at > ?3) ORDER BY offset LIMIT ?2`,
  // The rows of a chunk, once it is cut to its byte budget: ?2 a JSON array of offsets.
  surgeRows: `
    SELECT offset, expires_at, attempt, nack_reason FROM deliveries
    WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2)) ORDER BY offset`,
  // The nonce goes: a receipt of an earlier delivery can no longer ack or extend the message here.
  // due_at of a moving row: when it was marked (see movingRelease).
  surgeMark: `UPDATE deliveries SET state = ${MOVING}, nonce = NULL, due_at = ?3 WHERE sub = ?1 AND offset IN (SELECT value FROM json_each(?2))`,
  // Moving rows marked before ?2, of a subscription no surge runs for: ready again.
  movingRelease: `UPDATE deliveries SET state = ${READY}, due_at = 0 WHERE sub = ?1 AND state = ${MOVING} AND due_at <= ?2`,
  // Moved: the row stays, ended, until retention, so that a cancel can tell "moved, never
  // received" (attempt 0) from "received", and a late receipt answers not_in_flight.
  surgeDone: `UPDATE deliveries SET state = ${ENDED}, due_at = 0 WHERE sub = ?1 AND state = ${MOVING} AND offset IN (SELECT value FROM json_each(?2))`,

  // Only where each doorbell is: `seq` and `armed` are written (NOT NULL), never read back.
  bellsAll: "SELECT sub, name, idx FROM bells",
  bellArm: "INSERT OR REPLACE INTO bells (sub, name, idx, seq, armed) VALUES (?, ?, ?, ?, 1)",
  bellForget: "DELETE FROM bells WHERE sub = ?",

  statsStates: "SELECT sub, state, COUNT(*) AS n FROM deliveries GROUP BY sub, state",
} as const;

/**
 * The ready rows of a subscription, best first: highest priority first, then oldest (an ordered
 * subscription's rows have priority 0, and only a key's head is ready, never the rows HELD
 * behind it). Rows past their TTL are never candidates. ?1 the subscription, ?2 the limit, ?3 now.
 */
export const ROW_CANDIDATES = `
  SELECT offset, attempt, priority FROM deliveries
  WHERE sub = ?1 AND state = ${READY} AND (expires_at = 0 OR expires_at > ?3)
  ORDER BY priority DESC, offset
  LIMIT ?2`;

// Transactions (transactions.ts): shares and their prepared messages; records on the home partition.
export const TRANSACTION_SQL = {
  shareGet: "SELECT txn, home, state, prepared_at, results FROM txn_shares WHERE txn = ?",
  shareInsert:
    "INSERT INTO txn_shares (txn, home, state, prepared_at, ask_at, results, resolved_at) VALUES (?, ?, 'prepared', ?, ?, NULL, NULL)",
  // first_offset, last_offset: the offsets a commit appended here (NULL: none; schema step 5).
  shareResolve: "UPDATE txn_shares SET state = ?, results = ?, resolved_at = ?, ask_at = 0, first_offset = ?, last_offset = ? WHERE txn = ?",
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
