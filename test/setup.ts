import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The catalog's schema is the SQL in migrations/; apply it as `npm start` does.
await applyD1Migrations(env.CATALOG, env.TEST_MIGRATIONS);
