// The types that cross the Worker ↔ Partition boundary. Keep them backward compatible:
// during a deploy an updated Worker talks to objects that still run the old code.

export type SubscriptionMode = "shared" | "ordered";

/** What a partition needs to know of a subscription; sent with every call that names one. */
export interface SubscriptionSpec {
  uid: string;
  mode: SubscriptionMode;
  /** Messages produced at or after this time (ms since epoch) are delivered; 0 = the whole log. */
  sinceMs: number;
}

/** A message ready to append: validated and serialized by the Worker. */
export interface NewMessage {
  id: string;
  /** True when the producer chose the id, so it takes part in deduplication. */
  idFromProducer: boolean;
  key: string | null;
  /** JSON text of a string-to-string map, or null. */
  headers: string | null;
  /** JSON text of the body. */
  body: string;
  priority: number;
  /** Not deliverable before this many milliseconds from now. */
  delayMs: number;
}

export interface Appended {
  offset: number;
  producedAt: number;
  duplicate: boolean;
}

export type AppendOutcome = { ok: true; appended: Appended[] } | { ok: false; code: "topic_deleted" };

/** One delivery of a message, as a partition hands it out. */
export interface LeasedMessage {
  offset: number;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  priority: number;
  producedAt: number;
  attempt: number;
  nonce: string;
}

export type LeaseOutcome =
  | {
      ok: true;
      messages: LeasedMessage[];
      /** Whether more messages were deliverable than were leased. */
      more: boolean;
    }
  | { ok: false; code: "topic_deleted" };

/**
 * Receive only messages whose headers have these values (all of them). Messages that do not
 * match stay deliverable to the subscription's other consumers.
 */
export type HeaderFilter = Record<string, string>;

/** Where a seek puts a subscription on one partition. */
export type SeekTarget =
  | { to: "earliest" }
  | { to: "latest" }
  /** The first message produced at or after this time (ms since epoch). */
  | { to: "timestamp"; atMs: number }
  | { to: "offset"; offset: number };

export type CancelOutcome =
  | { ok: true; cancelled: number }
  | { ok: false; code: "message_not_found" | "message_delivered" | "topic_deleted" };

/** A receipt's coordinates inside one partition. */
export interface ReceiptRef {
  offset: number;
  nonce: string;
}

export type ReceiptErrorCode = "receipt_stale" | "not_in_flight";
export type ReceiptOutcome = { ok: true } | { ok: false; code: ReceiptErrorCode; message: string };

export interface SubscriptionCounts {
  uid: string;
  /** Deliverable now. */
  ready: number;
  /** Waiting for a delay or a nack's back-off to end. */
  delayed: number;
  /** Leased to a consumer and not yet acked. */
  inFlight: number;
  /** produced_at of the oldest unacked message, or null. */
  oldestUnackedAt: number | null;
}

export interface PartitionStats {
  nextOffset: number;
  firstOffset: number | null;
  messages: number;
  bytes: number;
  subscriptions: SubscriptionCounts[];
}
