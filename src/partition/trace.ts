import type {
  DeadLetterEntry,
  MessageTrace,
  SubscriptionMode,
  TraceEvent,
  TraceEventName,
  TracedDeliveryState,
  TracedMessageState,
} from "../shared/partition-api";
import type { Segments, StoredMessage } from "./segments";
import { DELAYED, LEASED } from "./statements";

// A message's trace (SPEC "Observability"). Only exceptional events are written, as rows of
// trace_events (schema step 3): nacks, extends, lease expiries, dead letters, redrives, surge
// moves, cancels, TTL expiries. The happy path — produced, leased, acked — is derived from the
// message and where it stands for each subscription (its row, its run, the cursor), so a
// message that is produced, leased once and acked costs no trace row at all. Events are
// deleted with their message's segment (retention).
const TRACE_SQL = {
  record: "INSERT INTO trace_events (offset, sub, at, event, attempt, detail) VALUES (?, ?, ?, ?, ?, ?)",
  ofOffset: "SELECT sub, at, event, attempt, detail FROM trace_events WHERE offset = ? ORDER BY rowid",
  forgetRange: "DELETE FROM trace_events WHERE offset >= ? AND offset <= ?",
  forgetSubscription: "DELETE FROM trace_events WHERE sub = ?",
} as const;

type Detail = Record<string, string | number | null>;

type EventRow = {
  sub: string;
  at: number;
  event: string;
  attempt: number | null;
  detail: string | null;
};

/** Where a message stands for a subscription that still has it (log.ts Place). */
export interface TracedDelivery {
  state: number;
  dueAt: number;
  attempt: number;
  /** When a run leased it (new messages leased together keep their lease time). */
  leasedAt?: number;
}

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

  /** Deletes the events of the messages of a segment that retention deleted. */
  forgetRange(first: number, last: number): void {
    this.sql.exec(TRACE_SQL.forgetRange, first, last);
  }

  forgetSubscription(sub: string): void {
    this.sql.exec(TRACE_SQL.forgetSubscription, sub);
  }

  /**
   * A message's state per subscription and its trace: the recorded events, and the happy path
   * derived from `deliveries` (where it stands for each subscription that still has it).
   */
  traceOf(
    row: StoredMessage & { cancelled: boolean },
    deliveries: ReadonlyMap<string, TracedDelivery>,
    subscriptions: readonly TracedSubscription[],
    now: number,
    ackedRuns: ReadonlyMap<string, { leasedAt: number; ackedAt: number }> = new Map(),
  ): MessageTrace {
    const recorded = this.sql.exec<EventRow>(TRACE_SQL.ofOffset, row.offset).toArray();
    const state: TracedMessageState =
      row.cancelled
        ? "cancelled"
        : row.expiresAt > 0 && row.expiresAt <= now && deliveries.size === 0
          ? "expired"
          : row.deliverAt > now
            ? "scheduled"
            : "stored";

    const events: TraceEvent[] = [{ at: row.producedAt, event: "produced", subscriptionUid: null, attempt: null, detail: null }];
    for (const r of recorded.filter((r) => r.sub === "")) events.push(toEvent(r));
    const states: MessageTrace["subscriptions"] = [];
    for (const sub of subscriptions) {
      // A subscription created after the message never had it.
      if (sub.sinceMs > row.producedAt) continue;
      const own = recorded.filter((r) => r.sub === sub.uid);
      const delivery = deliveries.get(sub.uid) ?? null;
      if (!delivery && row.cancelled) continue;
      const { sequence, state: subState, attempts } = subscriptionStory(sub.uid, own, delivery, own.length === 0 ? (ackedRuns.get(sub.uid) ?? null) : null);
      events.push(...sequence);
      states.push({ uid: sub.uid, state: subState, attempts });
    }
    return {
      offset: row.offset,
      id: row.id,
      key: row.key,
      headers: row.headers,
      body: row.body,
      producedAt: row.producedAt,
      state,
      subscriptions: states,
      events,
    };
  }

  /**
   * In a dead-letter partition: the dead letters whose key starts with `prefix` (one source
   * subscription's), not yet redriven, after `after`, at most `max`, bodies cut to `previewChars`.
   */
  deadLetters(segments: Segments, prefix: string, after: number, max: number, previewChars: number): DeadLetterEntry[] {
    const entries: DeadLetterEntry[] = [];
    segments.withKeyPrefix(prefix, after, (m) => {
      entries.push({
        offset: m.offset,
        id: m.id,
        headers: m.headers,
        bodyPreview: m.body.slice(0, previewChars),
        bodyTruncated: m.body.length > previewChars,
        producedAt: m.producedAt,
      });
      return entries.length < max;
    });
    return entries;
  }

  /** In a dead-letter partition: how many dead letters not yet redriven, per source subscription. */
  deadLetterCounts(segments: Segments): { topicUid: string; subscriptionUid: string; count: number }[] {
    const counts = new Map<string, number>();
    segments.withKeyPrefix("dl:", -1, (m) => {
      // The key is "dl:<topic uid>:<subscription uid>:…" (policy.ts deadLetterKey).
      const [, topicUid, subscriptionUid] = m.dedupKey!.split(":");
      const prefix = `${topicUid}:${subscriptionUid}`;
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
      return true;
    });
    return [...counts].map(([prefix, count]) => {
      const [topicUid, subscriptionUid] = prefix.split(":") as [string, string];
      return { topicUid, subscriptionUid, count };
    });
  }
}

function toEvent(r: EventRow): TraceEvent {
  return {
    at: r.at,
    event: r.event as TraceEventName,
    subscriptionUid: r.sub === "" ? null : r.sub,
    attempt: r.attempt,
    detail: r.detail ? withIsoTimes(JSON.parse(r.detail) as Detail) : null,
  };
}

// Details that are a time: stored as ms since the epoch, shown as ISO-8601 like every `at`.
const TIME_DETAILS: readonly string[] = ["lease_end"];

function withIsoTimes(detail: Detail): Detail {
  const shown = { ...detail };
  for (const name of TIME_DETAILS) {
    const value = shown[name];
    if (typeof value === "number") shown[name] = new Date(value).toISOString();
  }
  return shown;
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
  delivery: TracedDelivery | null,
  ackedRun: { leasedAt: number; ackedAt: number } | null,
): { sequence: TraceEvent[]; state: TracedDeliveryState; attempts: number } {
  const sequence: TraceEvent[] = [];
  let leasedAttempt = 0;
  const lease = (attempt: number, leaseEnd: number | null, at: number | null = null) => {
    sequence.push({ at, event: "leased", subscriptionUid: uid, attempt, detail: leaseEnd === null ? null : withIsoTimes({ lease_end: leaseEnd }) });
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
      const current = a === delivery.attempt && delivery.state === LEASED;
      lease(a, current ? delivery.dueAt : null, current ? (delivery.leasedAt ?? null) : null);
    }
    // MOVING (on its way to a surge partition) is ready there as soon as it arrives.
    const state: TracedDeliveryState = delivery.state === LEASED ? "leased" : delivery.state === DELAYED ? "delayed" : "ready";
    return { sequence, state, attempts: delivery.attempt };
  }
  if (last === "dead_lettered") return { sequence, state: "dead_lettered", attempts: leasedAttempt };
  if (last === "expired") return { sequence, state: "expired", attempts: leasedAttempt };
  // Gone without a recorded end: acked (the lease before it derived when none is known).
  if (last === "moved") return { sequence, state: "ready", attempts: leasedAttempt };
  // Leased once in a run and acked: the run's history has both times.
  if (leasedAttempt === 0 || (last !== null && ENDS_LEASE.has(last)) || last === "redriven") lease(leasedAttempt + 1, null, ackedRun?.leasedAt ?? null);
  sequence.push({ at: ackedRun?.ackedAt ?? null, event: "acked", subscriptionUid: uid, attempt: leasedAttempt, detail: null });
  return { sequence, state: "acked", attempts: leasedAttempt };
}
