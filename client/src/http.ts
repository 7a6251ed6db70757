import { WeirError } from "./errors.js";

/** Where and how a client sends its requests. */
export interface Transport {
  /** The server's origin, without a trailing slash. */
  url: string;
  token: string;
  fetch: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
}

/** Encodes a topic, subscription or key name as one path segment. */
export const segment = (name: string): string => encodeURIComponent(name);

/**
 * Sends one request and answers the raw response when it is a 2xx; anything else becomes a
 * WeirError (status 0, `network_error`, when no answer came). An abort rejects with the
 * signal's reason, as fetch does.
 */
export async function send(
  transport: Transport,
  method: string,
  path: string,
  body: unknown,
  options: RequestOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${transport.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await transport.fetch(`${transport.url}${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: options.signal ?? null,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new WeirError(0, "network_error", `${method} ${path}: ${String(error)}`, { cause: error });
  }
  if (response.ok) return response;
  throw await errorOf(response, `${method} ${path}`);
}

/** Like send, and parses the JSON answer (null for 204). */
export async function call<T>(
  transport: Transport,
  method: string,
  path: string,
  body?: unknown,
  options?: RequestOptions,
): Promise<T> {
  const response = await send(transport, method, path, body, options);
  const text = await response.text();
  if (text === "") return null as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new WeirError(response.status, "bad_response", `${path}: the answer is not JSON`, { cause: error });
  }
}

/** The WeirError of a refused request, from its `{"error": {code, message, details}}` body. */
async function errorOf(response: Response, what: string): Promise<WeirError> {
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details?: unknown } };
    return new WeirError(response.status, error.code, error.message, { details: error.details, retryAfter });
  } catch {
    return new WeirError(response.status, "bad_response", `${what}: HTTP ${response.status} ${text.slice(0, 200)}`, { retryAfter });
  }
}

/** Retry-After in seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
