// Secrets the tests run with: vitest.config.ts gives them to the Worker, the helpers use them.
export const TEST_ADMIN_TOKEN = "test-admin-token";
export const TEST_RECEIPT_SECRET = "test-receipt-secret";
export const TEST_OUTBOUND_SIGNING_SECRET = "test-outbound-signing-secret";
