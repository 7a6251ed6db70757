// Cloudflare's published prices (Workers Paid plan, beyond the included amounts), and the two
// queues Weir is compared with. USD. docs/performance.md cites the pages.
export const PRICES = {
  workerRequestPerMillion: 0.3,
  objectRequestPerMillion: 0.15,
  rowsWrittenPerMillion: 1.0,
  rowsReadPerMillion: 0.001,
  storageGbMonth: 0.2,
  /** Cloudflare Queues: $0.40 per million operations; a message is written, read and deleted. */
  queuesPerMillionMessages: 0.4 * 3,
  /** SQS standard: ~$0.40 per million requests; send, receive and delete batched by 10. */
  sqsPerMillionMessages: (0.4 * 3) / 10,
};

/** Stored bytes per message and how long they stay, for the storage line: 256 B for the default 4 days. */
export const STORED_BYTES_PER_MESSAGE = 256;
export const STORED_DAYS = 4;

/**
 * Cost in USD per million messages, one subscription, from the measured rows and calls per
 * message (bench/cases/rows.mjs).
 */
export function costPerMillion({ rowsWritten, rowsRead, workerRequests, objectCalls }) {
  const rows = rowsWritten * PRICES.rowsWrittenPerMillion + rowsRead * PRICES.rowsReadPerMillion;
  const requests = workerRequests * PRICES.workerRequestPerMillion + objectCalls * PRICES.objectRequestPerMillion;
  const storage = ((STORED_BYTES_PER_MESSAGE * 1e6) / 1e9) * (STORED_DAYS / 30.44) * PRICES.storageGbMonth;
  return { rows, requests, storage, total: rows + requests + storage };
}
