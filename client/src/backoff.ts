import { WeirError } from "./errors.js";

export interface Backoff {
  /** The first wait, in ms. */
  initialMs: number;
  /** The longest wait, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 30_000 };

/**
 * How long to wait before retry number `failures` (1 for the first), in ms: exponential with
 * "equal jitter" (half fixed, half random), so that many consumers refused at once do not come
 * back at once. A Retry-After from the server is the floor, with up to 20% added.
 */
export function retryDelayMs(error: unknown, failures: number, backoff: Backoff = DEFAULT_BACKOFF, random = Math.random): number {
  const exponential = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  if (error instanceof WeirError && error.retryAfter !== null) {
    const floor = error.retryAfter * 1000;
    return Math.max(jittered, floor + random() * floor * 0.2);
  }
  return jittered;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
