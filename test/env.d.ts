// Types of the test runtime: the Worker's bindings plus the migrations the config injects,
// and the main module, so that `exports.default` is typed.
declare namespace Cloudflare {
  interface Env {
    PARTITION: DurableObjectNamespace<import("../src/partition/partition").Partition>;
    DOORBELL: DurableObjectNamespace<import("../src/doorbell/doorbell").Doorbell>;
    RATE_LIMITER: DurableObjectNamespace<import("../src/rate-limiter/rate-limiter").RateLimiter>;
    CATALOG: D1Database;
    ADMIN_TOKEN?: string;
    RECEIPT_SECRET?: string;
    OUTBOUND_SIGNING_SECRET?: string;
    SQS_CREDENTIAL_SECRET?: string;
    OUTBOUND_ALLOW_LOOPBACK?: string;
    TEST_MIGRATIONS?: import("cloudflare:test").D1Migration[];
  }
  interface GlobalProps {
    mainModule: typeof import("../src/index");
    durableNamespaces: "Partition" | "RateLimiter" | "Doorbell";
  }
}
