import type { Doorbell } from "./doorbell/doorbell";
import type { Partition } from "./partition/partition";
import type { RateLimiter } from "./rate-limiter/rate-limiter";

/** The bindings of the Worker, as declared in wrangler.toml and .dev.vars. docs/security.md lists the secrets. */
export interface Env {
  PARTITION: DurableObjectNamespace<Partition>;
  /** One object per subscription, where its long polls wait (src/doorbell). */
  DOORBELL: DurableObjectNamespace<Doorbell>;
  /** One object per API key that has a rate limit. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  CATALOG: D1Database;
  /** Bearer token with every scope. A wrangler secret in production, .dev.vars locally. */
  ADMIN_TOKEN?: string;
  /** Signs receipts (HMAC-SHA256). A wrangler secret; when unset, derived from ADMIN_TOKEN. */
  RECEIPT_SECRET?: string;
  /** Derives the SQS secret access keys of API keys (src/shared/sqs-credentials.ts). A wrangler secret; when unset, derived from ADMIN_TOKEN. */
  SQS_CREDENTIAL_SECRET?: string;
  /** Signs requests Weir sends (Weir-Signature header). A wrangler secret; outbound calls need it. */
  OUTBOUND_SIGNING_SECRET?: string;
  /** "true" lets outbound calls reach loopback addresses: local development only. */
  OUTBOUND_ALLOW_LOOPBACK?: string;
  /**
   * "off" stops partitions writing trace events and counters: the benchmark's baseline, to
   * measure what observability costs (`npm run bench -- --trace`). Default on; never turn it off
   * in production (/metrics would stop counting).
   */
  WEIR_TRACE?: string;
}
