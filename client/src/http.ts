import { untilAborted } from "./abort.js";
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

interface SendOptions extends RequestOptions {
  /**
   * Whether sending the request twice does no harm; such a request is sent again once when the
   * connection failed before any answer. Default: every method but POST.
   */
  idempotent?: boolean;
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
  options: SendOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${transport.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const payload = body === undefined ? null : JSON.stringify(body);
  // A kept-alive connection the server closes just as a request goes out on it fails with no
  // answer (servers close idle ones after a few seconds): a second try opens a new one.
  let tries = (options.idempotent ?? method !== "POST") ? 2 : 1;
  let response: Response;
  for (;;) {
    try {
      response = await transport.fetch(`${transport.url}${path}`, { method, headers, body: payload, signal: options.signal ?? null });
      break;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (--tries > 0) continue;
      throw new WeirError(0, "network_error", `${method} ${path}: ${String(error)}`, { cause: error });
    }
  }
  if (response.ok) return response;
  const refusal = await errorOf(response, `${method} ${path}`, options.signal);
  if (options.signal?.aborted) throw options.signal.reason;
  throw refusal;
}

/** Like send, and parses the JSON answer (null for 204). */
export async function call<T>(
  transport: Transport,
  method: string,
  path: string,
  body?: unknown,
  options?: SendOptions,
): Promise<T> {
  const response = await send(transport, method, path, body, options);
  const text = await untilAborted(response.text(), options?.signal);
  if (text === "") return null as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new WeirError(response.status, "bad_response", `${path}: the answer is not JSON`, { cause: error });
  }
}

/** The WeirError of a refused request, from its `{"error": {code, message, details}}` body. */
async function errorOf(response: Response, what: string, signal?: AbortSignal): Promise<WeirError> {
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  const text = await untilAborted(response.text(), signal).catch(() => "");
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
