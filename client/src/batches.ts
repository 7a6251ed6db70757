import { MAX_MESSAGES_PER_PRODUCE, MAX_PRODUCE_REQUEST_BYTES } from "./limits.js";

const encoder = new TextEncoder();
// `{"messages":[` and `]}`.
const ENVELOPE_BYTES = 15;

/**
 * Splits messages into produce requests the server accepts: at most 1000 messages and 10 MiB of
 * JSON each, in order. A message too large for any request goes alone, for the server to refuse
 * with 413 naming it.
 */
export function produceBatches<T>(
  messages: readonly T[],
  limits = { messages: MAX_MESSAGES_PER_PRODUCE, bytes: MAX_PRODUCE_REQUEST_BYTES },
): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const message of messages) {
    // Its JSON and the comma before it.
    const size = encoder.encode(JSON.stringify(message)).length + 1;
    if (batch.length > 0 && (batch.length === limits.messages || bytes + size > limits.bytes)) {
      batches.push(batch);
      batch = [];
      bytes = ENVELOPE_BYTES;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
