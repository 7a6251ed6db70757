import { describe, expect, it } from "vitest";
import { WeirError } from "../src/errors.js";
import { parseRetryAfter } from "../src/http.js";
import { retryDelayMs } from "../src/backoff.js";

describe("Retry-After", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("back-off", () => {
  const backoff = { initialMs: 100, maxMs: 1_000 };

  it("doubles, up to the maximum, with half of it random", () => {
    expect(retryDelayMs(new Error(), 1, backoff, () => 0)).toBe(50);
    expect(retryDelayMs(new Error(), 1, backoff, () => 1)).toBe(100);
    expect(retryDelayMs(new Error(), 3, backoff, () => 1)).toBe(400);
    expect(retryDelayMs(new Error(), 30, backoff, () => 1)).toBe(1_000);
  });

  it("waits at least Retry-After, plus up to a fifth of it", () => {
    const limited = new WeirError(429, "rate_limited", "slow down", { retryAfter: 2 });
    expect(retryDelayMs(limited, 1, backoff, () => 0)).toBe(2_000);
    expect(retryDelayMs(limited, 1, backoff, () => 1)).toBe(2_400);
  });
});
