import type { Partition } from "./partition/partition";

/** The bindings of the Worker, as declared in wrangler.toml and .dev.vars. */
export interface Env {
  PARTITION: DurableObjectNamespace<Partition>;
  CATALOG: D1Database;
  /** Bearer token with every scope. A wrangler secret in production, .dev.vars locally. */
  ADMIN_TOKEN?: string;
}
