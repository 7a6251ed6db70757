// All SQL of a partition, named. Delivery states: 0 ready, 1 delayed, 2 leased (schema.ts).

export const READY = 0;
export const DELAYED = 1;
export const LEASED = 2;

export const SQL = {
  metaGet: "SELECT value FROM meta WHERE name = ?",
  metaSet: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",

  subscriptionsAll: "SELECT uid, mode, since_ms FROM subscriptions",
  subscriptionInsert: "INSERT INTO subscriptions (uid, mode, since_ms) VALUES (?, ?, ?)",
  subscriptionDelete: "DELETE FROM subscriptions WHERE uid = ?",
  deliveriesDeleteForSubscription: "DELETE FROM deliveries WHERE sub = ?",
  // Materializes delivery rows for a subscription from the retained log: ?3 is the first
  // produced_at (backfillSince) or the first offset (backfillFromOffset); ?4 is now.
  deliveriesBackfillSince: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority)
    SELECT ?1, offset, CASE WHEN deliver_at > ?4 THEN 1 ELSE 0 END, CASE WHEN deliver_at > ?4 THEN deliver_at ELSE 0 END,
           0, NULL, COALESCE(key, ''), CASE WHEN ?2 = 'ordered' THEN 0 ELSE priority END
    FROM log WHERE produced_at >= ?3 AND cancelled = 0`,
  deliveriesBackfillFromOffset: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority)
    SELECT ?1, offset, CASE WHEN deliver_at > ?4 THEN 1 ELSE 0 END, CASE WHEN deliver_at > ?4 THEN deliver_at ELSE 0 END,
           0, NULL, COALESCE(key, ''), CASE WHEN ?2 = 'ordered' THEN 0 ELSE priority END
    FROM log WHERE offset >= ?3 AND cancelled = 0`,

  logFindDuplicate:
    "SELECT offset, produced_at FROM log WHERE id = ? AND dedup = 1 AND produced_at >= ? ORDER BY offset LIMIT 1",
  logInsert: `
    INSERT INTO log (offset, id, key, headers, body, priority, produced_at, deliver_at, dedup, bytes)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  deliveryInsert: `
    INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority)
    VALUES (?, ?, ?, ?, 0, NULL, ?, ?)`,

  logById: "SELECT offset, produced_at FROM log WHERE id = ? AND cancelled = 0",
  deliveryAttempt: "SELECT attempt FROM deliveries WHERE sub = ? AND offset = ?",
  logCancel: "UPDATE log SET cancelled = 1 WHERE offset = ?",
  deliveriesDeleteForOffset: "DELETE FROM deliveries WHERE offset = ?",
  logFirstOffsetSince: "SELECT MIN(offset) AS offset FROM log WHERE produced_at >= ?",

  deliveryLease:
    "UPDATE deliveries SET state = 2, due_at = ?, attempt = attempt + 1, nonce = ? WHERE sub = ? AND offset = ?",

  deliveryGet: "SELECT state, nonce FROM deliveries WHERE sub = ? AND offset = ?",
  deliveryDelete: "DELETE FROM deliveries WHERE sub = ? AND offset = ?",
  deliverySetState: "UPDATE deliveries SET state = ?, due_at = ? WHERE sub = ? AND offset = ?",

  dueSubscriptions: "SELECT DISTINCT sub FROM deliveries WHERE state IN (1, 2) AND due_at <= ?",
  duePromote: "UPDATE deliveries SET state = 0 WHERE state IN (1, 2) AND due_at <= ?",
  nextDue: "SELECT MIN(due_at) AS due FROM deliveries WHERE state IN (1, 2)",

  statsLog: "SELECT COUNT(*) AS messages, COALESCE(SUM(bytes), 0) AS bytes, MIN(offset) AS first FROM log",
  statsStates: "SELECT sub, state, COUNT(*) AS n FROM deliveries GROUP BY sub, state",
  statsOldest: `
    SELECT d.sub AS sub, MIN(l.produced_at) AS oldest
    FROM deliveries d JOIN log l ON l.offset = d.offset GROUP BY d.sub`,
} as const;

/**
 * The deliverable messages of a subscription, best first, with their log rows.
 * Shared: highest priority first, then oldest. Ordered: only the oldest unacked message of
 * each ordering key is a candidate (priority is 0 for ordered rows, so the order is by offset).
 * Each header filter adds one condition; its name and value are bound as ?3, ?4, ?5, ?6, ….
 * ?1 is the subscription, ?2 the limit.
 */
export function candidatesQuery(ordered: boolean, filters: number): string {
  const key = `${ordered ? "o" : "s"}${filters}`;
  let query = candidateQueries.get(key);
  if (query === undefined) {
    const conditions = ["d.sub = ?1", "d.state = 0"];
    if (ordered) {
      conditions.push("NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.sub = ?1 AND e.okey = d.okey AND e.offset < d.offset)");
    }
    for (let i = 0; i < filters; i++) {
      conditions.push(
        `EXISTS (SELECT 1 FROM json_each(l.headers) h WHERE h.key = ?${3 + 2 * i} AND h.value = ?${4 + 2 * i})`,
      );
    }
    query = `
      SELECT d.offset AS offset, d.attempt AS attempt, l.id AS id, l.key AS key, l.headers AS headers,
             l.body AS body, l.priority AS priority, l.produced_at AS produced_at
      FROM deliveries d JOIN log l ON l.offset = d.offset
      WHERE ${conditions.join(" AND ")}
      ORDER BY d.priority DESC, d.offset
      LIMIT ?2`;
    candidateQueries.set(key, query);
  }
  return query;
}
const candidateQueries = new Map<string, string>();
