import { DurableObject } from "cloudflare:workers";
import { systemClock, type Clock } from "../shared/clock";

/** What a rate-limited call is counted as. */
export type RateAction = "produce" | "receive";

export type TakeOutcome = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms since the epoch. */
  at: number;
}

/**
 * The request counter of one API key (one object per key id). A token bucket per action holds
 * up to `perSecond` tokens (a burst of one second) and refills at `perSecond` a second; each
 * call takes one. The buckets live in memory only: if the object is evicted, a key starts again
 * with full buckets, which errs on letting requests through.
 */
export class RateLimiter extends DurableObject {
  /** Tests replace it to move time. */
  clock: Clock = systemClock;
  private readonly buckets = new Map<RateAction, Bucket>();

  /** Takes one token for `action`; when none is left, says in how many ms one will be. */
  take(action: RateAction, perSecond: number): TakeOutcome {
    const now = this.clock.now();
    const bucket = this.buckets.get(action) ?? { tokens: perSecond, at: now };
    const elapsedMs = Math.max(0, now - bucket.at);
    const tokens = Math.min(perSecond, bucket.tokens + (elapsedMs * perSecond) / 1000);
    if (tokens >= 1) {
      this.buckets.set(action, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.buckets.set(action, { tokens, at: now });
    return { ok: false, retryAfterMs: Math.ceil(((1 - tokens) * 1000) / perSecond) };
  }
}
