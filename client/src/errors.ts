/** The codes the server answers with (docs/api.md, "Errors"; test/client.test.ts at the root keeps them in step). */
export const SERVER_ERROR_CODES = [
  "invalid_request",
  "invalid_json",
  "unauthorized",
  "forbidden",
  "not_found",
  "topic_not_found",
  "subscription_not_found",
  "message_not_found",
  "key_not_found",
  "conflict",
  "message_delivered",
  "payload_too_large",
  "message_too_large",
  "uri_too_long",
  "unsupported_media_type",
  "topic_full",
  "rate_limited",
  "too_many_transactions",
  "transaction_not_found",
  "transaction_committed",
  "transaction_rolled_back",
  "request_headers_too_large",
  "unavailable",
  "not_configured",
  "internal",
] as const;

export type WeirErrorCode =
  | (typeof SERVER_ERROR_CODES)[number]
  /** No answer: the connection failed (status 0). */
  | "network_error"
  /** An answer that is not Weir's JSON. */
  | "bad_response"
  // A newer server may answer with a code this client does not know yet.
  | (string & {});

/** A request Weir refused or could not answer. */
export class WeirError extends Error {
  override readonly name = "WeirError";
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly code: WeirErrorCode;
  /** For invalid input: every field at fault. */
  readonly details: unknown;
  /** Seconds to wait before retrying, from Retry-After (429, 503); null when not given. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: WeirErrorCode,
    message: string,
    options: { details?: unknown; retryAfter?: number | null; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter ?? null;
  }

  /** Whether the same request may succeed later: 429, 503 and network failures. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 503;
  }
}

/**
 * Thrown by a consume handler for a message that must not be retried (it can never succeed):
 * the message is dead-lettered at once, with `reason` in its dead-letter headers.
 */
export class DoNotRetry extends Error {
  override readonly name = "DoNotRetry";
  constructor(readonly reason: string) {
    super(reason);
  }
}
