// Every limit of the service, with its unit in the name. docs/api.md lists them for users.

export const MAX_NAME_LENGTH = 128;
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export const MIN_PARTITIONS = 1;
export const MAX_PARTITIONS = 256;
export const DEFAULT_PARTITIONS = 1;

export const MAX_MESSAGE_BODY_BYTES = 1024 * 1024;
export const MAX_PRODUCE_REQUEST_BYTES = 10 * 1024 * 1024;
export const MAX_MESSAGES_PER_PRODUCE = 1000;
export const MAX_MESSAGE_ID_LENGTH = 128;
export const MAX_KEY_LENGTH = 256;
export const MAX_HEADERS_PER_MESSAGE = 64;
export const MAX_HEADER_NAME_LENGTH = 128;
export const MAX_HEADER_VALUE_LENGTH = 4096;
export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 9;
export const DEFAULT_PRIORITY = 0;
export const MAX_DELAY_SECONDS = 365 * 24 * 3600;

// Bodies of requests other than produce (receive, ack, admin) are small.
export const MAX_CONTROL_REQUEST_BYTES = 1024 * 1024;

export const MAX_RECEIVE_MESSAGES = 1000;
export const DEFAULT_RECEIVE_MESSAGES = 1;
export const MAX_WAIT_SECONDS = 60;
export const DEFAULT_WAIT_SECONDS = 0;
export const MAX_RECEIPTS_PER_REQUEST = 1000;

// A stream (POST …/stream) delivers up to its max_messages over up to its wait_seconds, in lines
// of at most STREAM_LINE_MESSAGES, with an empty line after heartbeat_seconds without messages.
export const MAX_STREAM_MESSAGES = 10_000;
export const DEFAULT_STREAM_MESSAGES = 1000;
export const MAX_STREAM_SECONDS = 300;
export const DEFAULT_STREAM_SECONDS = 60;
export const STREAM_LINE_MESSAGES = 100;
export const DEFAULT_STREAM_HEARTBEAT_SECONDS = 15;
export const MAX_STREAM_HEARTBEAT_SECONDS = 60;

export const MIN_VISIBILITY_TIMEOUT_SECONDS = 1;
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600;
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

export const MIN_MAX_DELIVERIES = 1;
export const MAX_MAX_DELIVERIES = 1000;
export const DEFAULT_MAX_DELIVERIES = 5;

// How long a Worker isolate trusts its cached copy of a topic or subscription.
export const CATALOG_CACHE_TTL_MS = 5_000;

// How many partitions one cron run sweeps; the rest wait for the next minute's run. The sweep
// reads the catalog's topics this many at a time.
export const MAX_PARTITIONS_PER_SWEEP = 500;
export const SWEEP_TOPIC_PAGE = 100;

export const DEFAULT_RETENTION_SECONDS = 4 * 24 * 3600;
export const MAX_RETENTION_SECONDS = 30 * 24 * 3600;
export const MIN_RETENTION_SECONDS = 60;
export const DEFAULT_DEDUP_WINDOW_SECONDS = 24 * 3600;
export const MAX_HEADER_FILTERS = 16;

// --- keys, request shape and rate limits (docs/security.md) ---

// How long a Worker isolate trusts its cached copy of an API key: a revoked key stops working
// everywhere within this time (at once in the isolate that revoked it). An unknown key is
// remembered for a shorter time, so that a new key works soon in every isolate.
export const KEY_CACHE_TTL_MS = 5_000;
export const UNKNOWN_KEY_CACHE_TTL_MS = 1_000;
export const MAX_KEY_NAME_LENGTH = 128;
export const MAX_SCOPES_PER_KEY = 32;
// A key's requests are counted by one Durable Object, which serves a few thousand calls a second.
export const MAX_RATE_PER_SECOND = 1000;

// Checked before anything else is read. Weir's own URLs are short (names are at most 128
// characters), and a real client sends a few dozen headers.
export const MAX_URL_LENGTH = 2048;
export const MAX_REQUEST_HEADERS = 100;
export const MAX_REQUEST_HEADER_BYTES = 16 * 1024;
export const MAX_AUTHORIZATION_LENGTH = 512;

// --- work per call: batch sizes and budgets (docs/architecture.md) ---

// A receive's lease pass asks its partitions at most this many times: the first split of
// max_messages, then what is still missing from those that had more.
export const LEASE_PASS_ROUNDS = 3;
// Lease passes a receive that already has messages makes to top its batch up before answering.
export const TOP_UP_PASSES = 3;
// What a producer refused by `overflow: reject` (429 topic_full) is told to wait, in seconds.
export const TOPIC_FULL_RETRY_AFTER_SECONDS = 1;
// What a client told 503 unavailable is told to wait, in seconds.
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

// Rows one pass over due work (ended leases, expired messages) handles; the alarm continues.
export const DUE_BATCH_ROWS = 1000;
// Messages one retention page looks at, oldest first, and one pass at most (pages past held
// messages); a pass that stops at its budget has the alarm continue at once.
export const RETENTION_BATCH_MESSAGES = 5_000;
export const RETENTION_SCAN_PER_PASS_MESSAGES = 20_000;

// Dead letters: the outbox is appended to the dead-letter topic in batches of this many, for at
// most this many rounds per forward; what fails is tried again after OUTBOX_RETRY_MS.
export const OUTBOX_BATCH_MESSAGES = 500;
export const OUTBOX_ROUNDS = 20;
export const OUTBOX_RETRY_MS = 5_000;

// A redrive reads dead letters this many at a time, and scans at most this many rows of the
// dead-letter partition per page looking for them.
export const REDRIVE_PAGE_MESSAGES = 500;
export const REDRIVE_SCAN_ROWS = 5_000;
export const REDRIVE_SCAN_BYTES = 4 * 1024 * 1024;
// One redrive request moves at most this many (its default): a bounded number of object calls;
// the answer's `more` says to call again.
export const MAX_REDRIVE_MESSAGES = 10_000;

// Receipts are opaque to clients but short: anything longer is not one of ours.
export const MAX_RECEIPT_LENGTH = 512;

// Surge (docs/surge.md): temporary partitions per topic partition, and in all; messages a
// source moves per chunk, and how long one cron run lets each source move.
export const MAX_SURGE_FACTOR = 16;
export const MAX_SURGE_PARTITIONS = 256;
export const SURGE_CHUNK_MESSAGES = 500;
export const SURGE_MOVE_BUDGET_MS = 2_000;

// The cron sweep calls this many partitions at a time.
export const SWEEP_CONCURRENCY = 16;

// A deletion retires its objects (partitions, surge partitions) in the request, up to this many
// object calls; the cron retires the rest, up to RETIRE_CALLS_PER_RUN a run.
export const RETIRE_CALLS_PER_REQUEST = 500;
export const RETIRE_CALLS_PER_RUN = 200;
// The cron's surge step spends at most this many object calls a run, over the surging
// subscriptions in turn; one run's duties hold a lease this long (overlapping runs skip them).
export const SURGE_CALLS_PER_RUN = 250;
export const CRON_LEASE_MS = 120_000;

// How many topics, subscriptions or keys one isolate's catalog cache holds.
export const MAX_CACHED_CATALOG_ENTRIES = 10_000;

// --- the SQS-compatible endpoint (src/sqs, docs/sqs.md): SQS's own limits where Weir keeps them ---

// How far an SQS request's signed time may be from the server's clock, either way (as AWS).
export const SQS_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
// SigV4 signing keys one isolate keeps derived (one per secret, day, region and service).
export const SQS_MAX_CACHED_SIGNING_KEYS = 256;
// Messages one ReceiveMessage answers; entries of one batch request; queues one ListQueues page lists.
export const SQS_MAX_RECEIVE_MESSAGES = 10;
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_LIST_QUEUES = 1000;
// A message (body and attributes) and a SendMessageBatch (all its messages): 1 MiB, as SQS and Weir.
export const SQS_MAX_MESSAGE_BYTES = MAX_MESSAGE_BODY_BYTES;
export const SQS_MAX_BATCH_BYTES = MAX_MESSAGE_BODY_BYTES;
export const SQS_MAX_MESSAGE_ATTRIBUTES = 10;
export const SQS_MAX_ATTRIBUTE_DATA_TYPE_LENGTH = 256;
// A queue's ReceiveMessageWaitTimeSeconds (a ReceiveMessage may ask for up to MAX_WAIT_SECONDS).
export const SQS_MAX_QUEUE_WAIT_SECONDS = 20;
// A FIFO queue's deduplication window.
export const SQS_FIFO_DEDUP_WINDOW_SECONDS = 300;
// SQS's highest maxReceiveCount: a queue without a RedrivePolicy dead-letters after this many receives.
export const SQS_MAX_RECEIVE_COUNT = MAX_MAX_DELIVERIES;

// --- transactions (docs/transactions.md) ---

// A transaction's messages: the same limits as a produce request (count, bytes, body).
// Open (prepared) transactions per partition, counted on each transaction's home partition:
// a topic holds at most this many × its partitions; beyond, 429 too_many_transactions.
export const MAX_OPEN_TRANSACTIONS_PER_PARTITION = 1000;
export const MIN_TRANSACTION_TIMEOUT_SECONDS = 1;
export const MAX_TRANSACTION_TIMEOUT_SECONDS = 24 * 3600;
export const MIN_TRANSACTION_CHECKS = 1;
export const MAX_TRANSACTION_CHECKS = 100;
export const MIN_CHECK_INTERVAL_SECONDS = 1;
export const MAX_CHECK_INTERVAL_SECONDS = 3600;
export const MAX_CHECK_URL_LENGTH = 2048;
// How long after a share's timeout a participant asks the home partition for a decision that
// did not come, and how soon a home tells again a participant it could not reach.
export const TRANSACTION_ASK_GRACE_MS = 30_000;
export const TRANSACTION_RETELL_MS = 5_000;
// Records and shares one alarm handles (the rest at once after), and check-backs in flight at
// once from one partition; the most of a check-back's answer that is read.
export const TRANSACTION_DUE_BATCH_ROWS = 50;
export const CHECK_BACK_CONCURRENCY = 8;
export const MAX_CHECK_ANSWER_BYTES = 16 * 1024;
// Observability (docs/operations.md). A trace lookup without ?key= or ?partition= asks the
// topic's partitions this many at a time, and stops after the wave that found the message.
export const TRACE_FANOUT_CONCURRENCY = 8;
// /metrics: a topic's partition stats are reused for this long per isolate, so a scrape
// every few seconds costs at most one stats call per partition per TTL.
export const METRICS_CACHE_TTL_MS = 5_000;
// /metrics asks this many topics' partitions at a time.
export const METRICS_TOPIC_CONCURRENCY = 4;
// The dead-letter browser: messages per page, and characters of a body it shows.
export const MAX_DEAD_LETTER_PAGE = 100;
export const DEAD_LETTER_PREVIEW_CHARS = 200;
// The dashboard's history: the cron samples at most this many topics a minute into D1, within
// this many subrequests (a topic costs 1 catalog read + 1 stats call per partition), taking
// turns minute by minute when the fleet is bigger; it keeps each sample this long.
export const MAX_HISTORY_TOPICS_PER_RUN = 20;
export const HISTORY_CALLS_PER_RUN = 60;
export const HISTORY_RETENTION_MS = 2 * 60 * 60 * 1000;

// --- bytes (docs/storage.md): every batch that crosses an object boundary is cut by bytes ---

// What one lease returns at most, in stored bytes (storedMessageBytes): well under the 32 MiB
// limit of an RPC answer and the 128 MB isolate. max_messages is then an upper bound.
export const LEASE_BUDGET_BYTES = 8 * 1024 * 1024;
// A message whose stored row would pass this is refused on produce (413 message_too_large):
// SQLite's row limit is 2 MB, and a dead letter stores the message again with more headers.
export const MAX_STORED_MESSAGE_BYTES = 1_900_000;
// Dead letters are forwarded in pages of at most this many stored bytes (and OUTBOX_BATCH_MESSAGES).
export const OUTBOX_PAGE_BYTES = 4 * 1024 * 1024;
// A surge moves chunks of at most this many stored bytes (and SURGE_CHUNK_MESSAGES).
export const SURGE_CHUNK_BYTES = 4 * 1024 * 1024;
// overflow: drop_oldest drops at most this many messages per append; the alarm does the rest,
// DUE_BATCH_ROWS per run.
export const DROP_OLDEST_PER_APPEND = 100;
// A row marked moving for longer than this, of a subscription whose surge the catalog says is
// off, belongs to a move nothing will finish: the cron's sweep makes it ready again.
export const MOVING_STALE_MS = 10 * 60 * 1000;

// --- the segment model (docs/storage.md) ---

// A produce batch is stored as one segment row, cut at this many stored bytes. Small enough
// that a row stays far under SQLite's 2 MB limit with JSON escaping, and that a lease reads
// about what it returns.
export const SEGMENT_BYTES = 512 * 1024;
// A message larger than this gets a segment of its own, its body and headers stored raw.
export const BIG_MESSAGE_BYTES = 64 * 1024;
// Parsed segments kept in memory per partition (segments never change once written). Small:
// objects of one class may share an isolate's 128 MB.
export const SEGMENT_CACHE_BYTES = 8 * 1024 * 1024;
// The newest dedup keys held in a map per partition (≈ 60 B each); older ones in blocks of
// DEDUP_BLOCK_IDS keys, a Bloom filter each (10 bits a key), one row written per block.
export const DEDUP_MEMORY_IDS = 100_000;
export const DEDUP_BLOCK_IDS = 16_384;
// Segments one lease (or one check for a deliverable message) reads past the cursor: a lease
// that meets only delayed, cancelled or expired messages for this long moves the cursor and stops.
export const LEASE_SCAN_SEGMENTS = 50;
// Segments a filtered lease reads past its resume point per call (a filter that matches
// nothing reads a bounded number of rows per call, then resumes where it stopped).
export const FILTER_SCAN_SEGMENTS = 20;
// Runs (leases of new messages) whose end passed, handled per pass of processDue.
export const DUE_BATCH_RUNS = 100;
