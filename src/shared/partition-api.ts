// The types that cross the Worker ↔ Partition boundary. Keep them backward compatible:
// during a deploy an updated Worker talks to objects that still run the old code.

export type SubscriptionMode = "shared" | "ordered";

/** Where a subscription's dead letters go. */
export interface DeadLetterTarget {
  topic: string;
  uid: string;
  partitions: number;
}

/** How a subscription retries and gives up. Durations in milliseconds. */
export interface DeliveryPolicy {
  /** The subscription's name, for dead-letter headers. */
  subscription: string;
  maxDeliveries: number;
  backoff: "fixed" | "exponential";
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** 0..1: each back-off delay is shortened by up to this fraction, at random. */
  backoffJitter: number;
  deadLetter: DeadLetterTarget | null;
}

/** What a partition needs to know of a subscription; sent with every call that names one. */
export interface SubscriptionSpec {
  uid: string;
  mode: SubscriptionMode;
  /** Messages produced at or after this time (ms since epoch) are delivered; 0 = the whole log. */
  sinceMs: number;
  /** Absent from callers that predate dead letters: the partition keeps the last one it got. */
  policy?: DeliveryPolicy;
  /**
   * Set only by the cron's sweep, from a fresh catalog read: no surge of this subscription is
   * running, so rows long in `moving` belong to a move nothing will finish (MOVING_STALE_MS).
   */
  surgeOff?: boolean;
}

/** The topic's rules a partition applies. Durations in milliseconds; limits per partition. */
export interface TopicPolicy {
  dedupWindowMs: number;
  retentionMs: number;
  /** Default message TTL; null: messages do not expire. */
  ttlMs: number | null;
  expiredAction: "drop" | "dead_letter";
  maxMessages: number | null;
  maxBytes: number | null;
  overflow: "reject" | "drop_oldest";
}

/** Who a partition is, and its topic's rules; sent with appends and sweeps, kept in storage. */
export interface PartitionContext {
  topic: string;
  topicUid: string;
  index: number;
  policy: TopicPolicy;
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
  /** Expires undelivered this many milliseconds from now; null: the topic's TTL. */
  ttlMs: number | null;
  /** storedMessageBytes, when the Worker measured it already (absent: the partition does). */
  bytes?: number;
  /** Deduplicates instead of the id (dead letters); when absent, a producer id does. */
  dedupKey?: string;
  /** A message copied into a temporary surge partition: where it was produced, and when. */
  origin?: { partition: number; offset: number; producedAt: number };
  /** A surge copy: the deliveries it already had at its origin, and the last nack's reason. */
  attempt?: number;
  nackReason?: string | null;
}

export interface Appended {
  offset: number;
  producedAt: number;
  duplicate: boolean;
}

export type AppendOutcome =
  | { ok: true; appended: Appended[] }
  | { ok: false; code: "topic_deleted" }
  /** overflow: reject, and this batch would pass max_messages or max_bytes. Nothing stored. */
  | { ok: false; code: "topic_full"; message: string };

/** A message as a partition holds it: what every delivery of it carries. */
export interface StoredMessageFields {
  offset: number;
  id: string;
  key: string | null;
  /** JSON text of a string-to-string map, or null. */
  headers: string | null;
  /** JSON text of the body. */
  body: string;
  priority: number;
  producedAt: number;
  /** Set when the message lives in a temporary surge partition: its place in the topic. */
  originPartition: number | null;
  originOffset: number | null;
}

/** One delivery of a message, as a partition hands it out. */
export interface LeasedMessage extends StoredMessageFields {
  attempt: number;
  nonce: string;
  /** storedMessageBytes, as the partition keeps it (absent from a partition of an earlier deploy). */
  bytes?: number;
}

/** The doorbell a partition rings for a subscription (src/doorbell), and its index there. */
export interface BellAddress {
  /** The Doorbell object's name (doorbellName in object-names.ts). */
  name: string;
  index: number;
}

/** A partition said it has nothing deliverable and is armed to ring, as of arm `seq`. */
export interface ArmReport {
  index: number;
  seq: number;
}

export type LeaseOutcome =
  | {
      ok: true;
      messages: LeasedMessage[];
      /** Whether more messages were deliverable than were leased. */
      more: boolean;
      /**
       * When the lease named a doorbell and left nothing deliverable here: the partition is
       * armed to ring it, and this is the arm's sequence number, to report to the doorbell.
       */
      armed: number | null;
      /** A stream's seat only (Partition.leaseOrSeat): the quiet mark, for its next seat there. */
      quiet?: string | null;
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

/** What a redrive asks of a dead-letter partition. */
export interface RedriveRequest {
  sourceTopicUid: string;
  subscriptionUid: string;
  /** Only dead letters with this reason. */
  reason: string | null;
  max: number;
  /** Only dead letters after this offset of the dead-letter partition (-1: from the start). */
  after: number;
}

/** A dead letter on its way back, with where it came from. */
export interface RedriveItem {
  /** Offset of the dead letter in its dead-letter partition. */
  deadLetterOffset: number;
  dedupKey: string;
  partition: number;
  offset: number;
}

/** One page of a redrive's search of a dead-letter partition. */
export interface RedrivePage {
  items: RedriveItem[];
  /** The last dead-letter offset examined: the next page starts after it. */
  scannedTo: number;
  /** No dead letter of the subscription lies past scannedTo. */
  done: boolean;
}

export type CancelOutcome =
  | { ok: true; cancelled: number }
  | { ok: false; code: "message_not_found" | "message_delivered" | "topic_deleted" };

/** What a nack asks for. */
export interface NackOptions {
  /** Wait this long (ms) before the next attempt; null: the subscription's back-off. */
  delayMs: number | null;
  /** Dead-letter at once (reason `rejected`) instead of trying again. */
  deadLetter: boolean;
  /** Kept with the message; a dead letter carries the last one. */
  reason: string | null;
}

/** A receipt's coordinates inside one partition. */
export interface ReceiptRef {
  offset: number;
  nonce: string;
}

export type ReceiptErrorCode = "receipt_stale" | "not_in_flight";
export type ReceiptOutcome = { ok: true } | { ok: false; code: ReceiptErrorCode; message: string };

export interface SubscriptionCounts {
  uid: string;
  /** Dead letters written but not yet appended to the dead-letter topic. */
  deadLettersPending: number;
  /** Being copied to a temporary surge partition. */
  moving: number;
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
  /**
   * Rows this object's SQL wrote and read (index entries included, as billed) since it last
   * started, as of the start of the stats call. Absent from objects that predate the count.
   */
  rows?: { rowsWritten: number; rowsRead: number };
  /** Absent from partitions that predate /metrics. */
  observed?: PartitionObserved;
}

/** The monotonic totals a partition keeps for /metrics (src/partition/counters.ts). */
export type CounterName = "acked" | "redelivered" | "dead_lettered" | "empty_leases" | "redriven";

export interface CounterValue {
  /** The subscription's uid. */
  sub: string;
  name: CounterName;
  /** The dead-letter reason for dead_lettered; "" otherwise. */
  reason: string;
  value: number;
}

/** What a partition adds to its stats for /metrics. */
export interface PartitionObserved {
  counters: CounterValue[];
  /** In a dead-letter partition: its dead letters not yet redriven, by where they came from. */
  deadLetters: { topicUid: string; subscriptionUid: string; count: number }[];
}

/** A message's state in its partition (SPEC "Observability"). */
export type TracedMessageState = "prepared" | "scheduled" | "stored" | "cancelled" | "expired" | "rolled_back";
/** Where a message stands for one subscription. */
export type TracedDeliveryState = "delayed" | "ready" | "leased" | "acked" | "dead_lettered" | "expired";
export type TraceEventName =
  | "prepared"
  | "committed"
  | "rolled_back"
  | "produced"
  | "leased"
  | "extended"
  | "nacked"
  | "lease_expired"
  | "acked"
  | "dead_lettered"
  | "redriven"
  | "moved"
  | "cancelled"
  | "expired";

/** One event of a message's life. `at` (ms since epoch) is null when storage does not keep it. */
export interface TraceEvent {
  at: number | null;
  event: TraceEventName;
  /** The subscription's uid, for events of one subscription. */
  subscriptionUid: string | null;
  attempt: number | null;
  detail: Record<string, string | number | null> | null;
}

/** A message as its partition knows it, with its trace (src/partition/trace.ts). */
export interface MessageTrace {
  /** Null while the message is prepared in a transaction, or after it was rolled back. */
  offset: number | null;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  /** When it was appended to the log; for a prepared or rolled-back message, when it was prepared. */
  producedAt: number;
  state: TracedMessageState;
  subscriptions: { uid: string; state: TracedDeliveryState; attempts: number }[];
  events: TraceEvent[];
  /** The transaction that prepared it (src/partition/transaction-trace.ts); absent otherwise. */
  transactionId?: string;
}

/** What the dead-letter browser asks of a dead-letter partition. */
export interface DeadLetterBrowse {
  sourceTopicUid: string;
  subscriptionUid: string;
  /** Only dead letters after this offset (-1: from the start). */
  after: number;
  max: number;
  previewChars: number;
}

/** A dead letter as the dead-letter browser shows it. Body cut to `bodyPreviewChars`. */
export interface DeadLetterEntry {
  offset: number;
  id: string;
  headers: string | null;
  bodyPreview: string;
  bodyTruncated: boolean;
  producedAt: number;
}

/** What a source partition needs to move a subscription's backlog to its surge partitions. */
export interface SurgeTarget {
  /** Tells this surge's temporary partitions from an earlier surge's (its start time). */
  generation: number;
  /** How many temporary partitions there are. */
  partitions: number;
  /** The context each temporary partition gets; its index is replaced by SURGE_INDEX_BASE + k. */
  context: PartitionContext;
}

// --- transactions (docs/transactions.md) ---

export type TransactionState = "prepared" | "committed" | "rolled_back";
/** Why a transaction was rolled back: the client asked (or its check-back answered so), its
 * timeout passed without a check url, or every check-back answered unknown. */
export type TransactionReason = "client" | "timeout" | "unresolved";
export type TransactionDecision = "committed" | "rolled_back";

/** Where and how Weir asks the producer about a transaction left prepared past its timeout. */
export interface TransactionCheck {
  url: string;
  maxChecks: number;
  intervalMs: number;
}

/** A transaction as its home partition keeps it. Times in ms since the epoch. */
export interface TransactionView {
  id: string;
  state: TransactionState;
  reason: TransactionReason | null;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  /** Check-backs sent so far. */
  checks: number;
  check: TransactionCheck | null;
  /** When the next check-back is due while prepared with a check url; null otherwise. */
  nextCheckAt: number | null;
}

/** A transaction's record, created on its home partition after every share is prepared. */
export interface TransactionOpen {
  id: string;
  createdAt: number;
  expiresAt: number;
  check: TransactionCheck | null;
  /** [message id, partition] of every message, in request order. */
  messages: [string, number][];
  /** The partitions holding a share (the home among them). */
  participants: number[];
}

/** One partition's part of a transaction: messages prepared here, invisible until committed. */
export interface TransactionShare {
  id: string;
  /** The index of the partition that keeps the decision. */
  home: number;
  messages: NewMessage[];
  preparedAt: number;
  expiresAt: number;
}

export type PrepareOutcome =
  | { ok: true }
  | { ok: false; code: "topic_deleted" }
  /** overflow: reject, and the share would pass the partition's backlog limits. Nothing stored. */
  | { ok: false; code: "topic_full"; message: string }
  /** The home partition holds its maximum of open transactions. Nothing stored there. */
  | { ok: false; code: "too_many_transactions"; limit: number }
  /** A decision for this id is already recorded here (a late or repeated prepare). */
  | { ok: false; code: "transaction_resolved" };

export type DecideOutcome =
  | {
      ok: true;
      transaction: TransactionView;
      /** Per message, in request order, once every partition applied the commit; else null. */
      results: (Appended & { id: string; partition: number })[] | null;
      /** Participants that have not applied the decision yet (the home's alarm tells them). */
      pending?: number;
    }
  | { ok: false; code: "transaction_not_found" | "topic_deleted" }
  | { ok: false; code: "transaction_committed" | "transaction_rolled_back"; transaction: TransactionView };

/** A share's end as its partition applied it: committed with where each message went, or rolled back. */
export type ApplyOutcome =
  | { ok: true; state: TransactionDecision; results: Appended[] }
  | { ok: false; code: "topic_deleted" };

/** What a home partition answers a participant asking about a transaction it has not heard the end of. */
export type DecisionAnswer = { state: "prepared"; askAgainAt: number } | { state: TransactionDecision };

/**
 * Transaction ids name their home partition: `<sortable id>-p<index>`, so that a commit or a
 * look-up goes to the one partition that keeps the decision. Null for anything else.
 */
export function transactionHome(id: string): number | null {
  const match = /^[0-9A-Z]{26}-p(0|[1-9][0-9]{0,2})$/.exec(id);
  return match ? Number(match[1]) : null;
}

export function transactionId(sortable: string, home: number): string {
  return `${sortable}-p${home}`;
}
