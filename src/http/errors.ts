import type { ContentfulStatusCode } from "hono/utils/http-status";
import { PartitionUnavailable, TopicFull, TopicGone, type RoutingFailure } from "../routing/failures";
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from "../shared/limits";

/** Every error code the API answers with, and its HTTP status. docs/api.md lists them. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  topic_not_found: 404,
  subscription_not_found: 404,
  message_not_found: 404,
  key_not_found: 404,
  transaction_not_found: 404,
  conflict: 409,
  message_delivered: 409,
  transaction_committed: 409,
  transaction_rolled_back: 409,
  payload_too_large: 413,
  message_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  topic_full: 429,
  rate_limited: 429,
  too_many_transactions: 429,
  request_headers_too_large: 431,
  unavailable: 503,
  not_configured: 503,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** The one error type of the HTTP layer; `onError` turns it into the JSON error body. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds, for 429 and 503 answers. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** A validation failure of one field; `path` is how the field is written in the request. */
export function invalidField(path: string, message: string): ApiError {
  return new ApiError("invalid_request", `${path}: ${message}`, [{ path, message }]);
}

export function topicNotFound(topic: string): ApiError {
  return new ApiError("topic_not_found", `topic ${topic} does not exist`);
}

export function subscriptionNotFound(topic: string, subscription: string): ApiError {
  return new ApiError("subscription_not_found", `subscription ${subscription} of topic ${topic} does not exist`);
}

/** How the API answers a failure of the Worker's side of the objects (src/routing). */
export function routingError(failure: RoutingFailure): ApiError {
  if (failure instanceof PartitionUnavailable) {
    return new ApiError("unavailable", failure.message, undefined, UNAVAILABLE_RETRY_AFTER_SECONDS);
  }
  if (failure instanceof TopicFull) return new ApiError("topic_full", failure.message, undefined, failure.retryAfterSeconds);
  if (failure instanceof TopicGone) return topicNotFound(failure.topic);
  return new ApiError("internal", failure.message);
}
