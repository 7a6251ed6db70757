// The server's produce limits (src/shared/limits.ts; test/limits.test.ts checks they agree).
export const MAX_MESSAGES_PER_PRODUCE = 1000;
export const MAX_PRODUCE_REQUEST_BYTES = 10 * 1024 * 1024;
export const MAX_RECEIVE_MESSAGES = 1000;
export const MAX_RECEIPTS_PER_REQUEST = 1000;
