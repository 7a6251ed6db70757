import type { MiddlewareHandler } from "hono";
import {
  MAX_AUTHORIZATION_LENGTH,
  MAX_REQUEST_HEADER_BYTES,
  MAX_REQUEST_HEADERS,
  MAX_URL_LENGTH,
} from "../shared/limits";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * Refuses a request whose URL or headers are over their limits before anything else reads
 * them: 414 `uri_too_long` (URL over MAX_URL_LENGTH characters), 431
 * `request_headers_too_large` (more than MAX_REQUEST_HEADERS headers, more than
 * MAX_REQUEST_HEADER_BYTES of names and values, or an Authorization header over
 * MAX_AUTHORIZATION_LENGTH characters).
 */
export function requestLimits(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    if (url.length > MAX_URL_LENGTH) {
      throw new ApiError("uri_too_long", `the URL of ${url.length} characters exceeds the limit of ${MAX_URL_LENGTH}`);
    }
    let count = 0;
    let bytes = 0;
    for (const [name, value] of c.req.raw.headers) {
      count++;
      bytes += name.length + value.length;
    }
    if (count > MAX_REQUEST_HEADERS) {
      throw new ApiError(
        "request_headers_too_large",
        `${count} request headers exceed the limit of ${MAX_REQUEST_HEADERS}`,
      );
    }
    if (bytes > MAX_REQUEST_HEADER_BYTES) {
      throw new ApiError(
        "request_headers_too_large",
        `request headers of ${bytes} bytes exceed the limit of ${MAX_REQUEST_HEADER_BYTES} bytes`,
      );
    }
    const authorization = c.req.header("authorization");
    if (authorization !== undefined && authorization.length > MAX_AUTHORIZATION_LENGTH) {
      throw new ApiError(
        "request_headers_too_large",
        `authorization: the header of ${authorization.length} characters exceeds the limit of ${MAX_AUTHORIZATION_LENGTH}`,
      );
    }
    return next();
  };
}
