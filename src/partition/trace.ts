import type {
  DeadLetterEntry,
  MessageTrace,
  SubscriptionMode,
  TraceEvent,
  TraceEventName,
  TracedDeliveryState,
  TracedMessageState,
} from "../shared/partition-api";
import { DELAYED, ENDED, LEASED } from "./statements";

// A message's trace (SPEC "Observability"). Only exceptional events are written, as rows of
// trace_events (schema step 3): nacks, extends, lease expiries, dead letters, redrives, surge
// moves, cancels, TTL expiries. The happy path — produced, leased, acked — is derived from the
// log row and the delivery rows, so a message that is produced, leased once and acked costs
// no trace row at all. Events are deleted with their message (retention).
//
// What this file reads of the log's storage (the hooks a new storage must keep):
// a message by id (offset, key, headers, body, produced_at, deliver_at, expires_at, cancelled),
// and per subscription its delivery (state, due_at, attempt), or that it has none.
const TRACE_SQL = {
  record: "INSERT INTO trace_events (offset, sub, at, event, attempt, detail) VALUES (?, ?, ?, ?, ?, ?)",
  ofOffset: "SELECT sub, at, event, attempt, detail FROM trace_events WHERE offset = ? ORDER BY rowid",
  // Only the offsets the log no longer has (retention keeps unacked messages).
  forgetOffsets: `
    DELETE FROM trace_events WHERE offset IN (SELECT value FROM json_each(?))
      AND NOT EXISTS (SELECT 1 FROM log WHERE log.offset = trace_events.offset)`,
  forgetSubscription: "DELETE FROM trace_events WHERE sub = ?",
  messageById: `
    SELECT offset, id, key, headers, body, produced_at, deliver_at, expires_at, cancelled
    FROM log WHERE id = ? ORDER BY offset DESC LIMIT 1`,
  // Ended rows (dead-lettered, expired, moved: statements.ts ENDED) are ends, told by the events.
  deliveriesOfOffset: `SELECT sub, state, due_at, attempt FROM deliveries WHERE offset = ? AND state <> ${ENDED}`,
  deadLetters: `
    SELECT offset, id, headers, substr(body, 1, ?4) AS preview, length(body) AS chars, produced_at
    FROM log WHERE dedup_key >= ?1 AND dedup_key < ?2 AND redriven = 0 AND offset > ?3
    ORDER BY offset LIMIT ?5`,
  // The prefix "dl:<topic uid>:<subscription uid>:" of each dead letter's key (policy.ts deadLetterKey).
  deadLetterCounts: `
    SELECT substr(k, 1, 3 + p1 + instr(substr(k, 4 + p1), ':')) AS prefix, COUNT(*) AS n
    FROM (SELECT dedup_key AS k, instr(substr(dedup_key, 4), ':') AS p1
          FROM log WHERE dedup_key >= 'dl:' AND dedup_key < 'dl;' AND redriven = 0)
    GROUP BY prefix`,
} as const;

type Detail = Record<string, string | number | null>;

type EventRow = {
  sub: string;
  at: number;
  event: string;
  attempt: number | null;
  detail: string | null;
};

/** What the trace needs to know of a subscription served here. */
export interface TracedSubscription {
  uid: string;
  mode: SubscriptionMode;
  sinceMs: number;
}

export class Trace {
  /**
   * @param enabled false only for the benchmark's baseline (WEIR_TRACE=off, which also stops
   * the counters): then no rows are written, and traces show only what the log and deliveries tell.
   */
  constructor(
    private readonly sql: SqlStorage,
    readonly enabled: boolean,
  ) {}

  /** Writes one exceptional event. Call inside the transaction of the change it records. */
  record(offset: number, sub: string, at: number, event: TraceEventName, attempt: number | null = null, detail: Detail | null = null): void {
    if (!this.enabled) return;
    this.sql.exec(TRACE_SQL.record, offset, sub, at, event, attempt, detail ? JSON.stringify(detail) : null);
  }

  /** Deletes the events of messages that left the log (retention). */
  forgetOffsets(offsets: readonly number[]): void {
    if (offsets.length > 0) this.sql.exec(TRACE_SQL.forgetOffsets, JSON.stringify(offsets));
  }

  forgetSubscription(sub: string): void {
    this.sql.exec(TRACE_SQL.forgetSubscription, sub);
  }

  /** The newest message with this id here, its state per subscription and its trace; null if none. */
  traceOf(id: string, subscriptions: readonly TracedSubscription[], now: number): MessageTrace | null {
    type LogRow = {
      offset: number;
      id: string;
      key: string | null;
      headers: string | null;
      body: string;
      produced_at: number;
      deliver_at: number;
      expires_at: number;
      cancelled: number;
    };
    const row = this.sql.exec<LogRow>(TRACE_SQL.messageById, id).toArray()[0];
    if (!row) return null;
    const deliveries = new Map(
      this.sql
        .exec<{ sub: string; state: number; due_at: number; attempt: number }>(TRACE_SQL.deliveriesOfOffset, row.offset)
        .toArray()
        .map((d) => [d.sub, d]),
    );
    const recorded = this.sql.exec<EventRow>(TRACE_SQL.ofOffset, row.offset).toArray();
    const state: TracedMessageState =
      row.cancelled === 1
        ? "cancelled"
        : row.expires_at > 0 && row.expires_at <= now && deliveries.size === 0
          ? "expired"
          : row.deliver_at > now
            ? "scheduled"
            : "stored";

    const events: TraceEvent[] = [{ at: row.produced_at, event: "produced", subscriptionUid: null, attempt: null, detail: null }];
    for (const r of recorded.filter((r) => r.sub === "")) events.push(toEvent(r));
    const states: MessageTrace["subscriptions"] = [];
    for (const sub of subscriptions) {
      // A subscription created after the message never had it.
      if (sub.sinceMs > row.produced_at) continue;
      const own = recorded.filter((r) => r.sub === sub.uid);
      const delivery = deliveries.get(sub.uid) ?? null;
      if (!delivery && row.cancelled === 1) continue;
      const { sequence, state: subState, attempts } = subscriptionStory(sub.uid, own, delivery);
      events.push(...sequence);
      states.push({ uid: sub.uid, state: subState, attempts });
    }
    return {
      offset: row.offset,
      id: row.id,
      key: row.key,
      headers: row.headers,
      body: row.body,
      producedAt: row.produced_at,
      state,
      subscriptions: states,
      events,
    };
  }

  /**
   * In a dead-letter partition: the dead letters whose key starts with `prefix` (one source
   * subscription's), not yet redriven, after `after`, at most `max`, bodies cut to `previewChars`.
   */
  deadLetters(prefix: string, after: number, max: number, previewChars: number): DeadLetterEntry[] {
    // Keys are ASCII; ";" sorts right after ":", so [prefix, prefix with ";") is the range.
    const end = `${prefix.slice(0, -1)};`;
    return this.sql
      .exec<{ offset: number; id: string; headers: string | null; preview: string; chars: number; produced_at: number }>(
        TRACE_SQL.deadLetters,
        prefix,
        end,
        after,
        previewChars,
        max,
      )
      .toArray()
      .map((r) => ({
        offset: r.offset,
        id: r.id,
        headers: r.headers,
        bodyPreview: r.preview,
        bodyTruncated: r.chars > previewChars,
        producedAt: r.produced_at,
      }));
  }

  /** In a dead-letter partition: how many dead letters not yet redriven, per source subscription. */
  deadLetterCounts(): { topicUid: string; subscriptionUid: string; count: number }[] {
    const counts: { topicUid: string; subscriptionUid: string; count: number }[] = [];
    for (const row of this.sql.exec<{ prefix: string; n: number }>(TRACE_SQL.deadLetterCounts)) {
      // prefix is "dl:<topic uid>:<subscription uid>:"
      const [, topicUid, subscriptionUid] = row.prefix.split(":");
      if (topicUid && subscriptionUid) counts.push({ topicUid, subscriptionUid, count: row.n });
    }
    return counts;
  }
}

function toEvent(r: EventRow): TraceEvent {
  return {
    at: r.at,
    event: r.event as TraceEventName,
    subscriptionUid: r.sub === "" ? null : r.sub,
    attempt: r.attempt,
    detail: r.detail ? (JSON.parse(r.detail) as Detail) : null,
  };
}

const ENDS_LEASE = new Set(["nacked", "lease_expired", "dead_lettered", "moved"]);

/**
 * One subscription's part of the trace: the recorded events with the leases derived between
 * them (a lease's start time is not stored: `at` null), the current lease from the delivery
 * row, and an ack when the delivery is gone without a recorded end.
 */
function subscriptionStory(
  uid: string,
  recorded: readonly EventRow[],
  delivery: { state: number; due_at: number; attempt: number } | null,
): { sequence: TraceEvent[]; state: TracedDeliveryState; attempts: number } {
  const sequence: TraceEvent[] = [];
  let leasedAttempt = 0;
  const lease = (attempt: number, leaseEnd: number | null) => {
    sequence.push({ at: null, event: "leased", subscriptionUid: uid, attempt, detail: leaseEnd === null ? null : { lease_end: leaseEnd } });
    leasedAttempt = attempt;
  };
  for (const r of recorded) {
    if (r.attempt !== null && r.attempt > leasedAttempt && r.event !== "redriven") {
      for (let a = leasedAttempt + 1; a <= r.attempt; a++) lease(a, null);
    }
    if (r.event === "redriven") leasedAttempt = 0;
    sequence.push(toEvent(r));
  }
  const last = recorded.at(-1)?.event ?? null;
  if (delivery) {
    // Leases the events do not account for; the current one ends at due_at.
    for (let a = leasedAttempt + 1; a <= delivery.attempt; a++) {
      lease(a, a === delivery.attempt && delivery.state === LEASED ? delivery.due_at : null);
    }
    // MOVING (on its way to a surge partition) is ready there as soon as it arrives.
    const state: TracedDeliveryState = delivery.state === LEASED ? "leased" : delivery.state === DELAYED ? "delayed" : "ready";
    return { sequence, state, attempts: delivery.attempt };
  }
  if (last === "dead_lettered") return { sequence, state: "dead_lettered", attempts: leasedAttempt };
  if (last === "expired") return { sequence, state: "expired", attempts: leasedAttempt };
  // Gone without a recorded end: acked (the lease before it derived when none is known).
  if (last === "moved") return { sequence, state: "ready", attempts: leasedAttempt };
  if (leasedAttempt === 0 || (last !== null && ENDS_LEASE.has(last)) || last === "redriven") lease(leasedAttempt + 1, null);
  sequence.push({ at: null, event: "acked", subscriptionUid: uid, attempt: leasedAttempt, detail: null });
  return { sequence, state: "acked", attempts: leasedAttempt };
}
