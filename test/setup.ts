import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The catalog's schema is the SQL in migrations/ (injected by vitest.config.ts); apply it as
// `npm start` does.
if (!env.TEST_MIGRATIONS) throw new Error("vitest.config.ts did not inject TEST_MIGRATIONS");
await applyD1Migrations(env.CATALOG, env.TEST_MIGRATIONS);
