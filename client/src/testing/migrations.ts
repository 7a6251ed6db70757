/**
 * The statements of one migration file: `--` comment lines dropped, split at each `;` that ends
 * a line. Weir's migrations are plain DDL (no triggers, no `;` inside strings).
 */
export function statements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The migration worker's name inside the Miniflare instance of startWeir. */
export const MIGRATOR = "weir-migrations";

/**
 * A worker, bound to the same D1 database as Weir, that applies the migrations POSTed to it
 * (`[{name, statements}]`): each one not applied yet, in one batch with its row in
 * `d1_migrations`, as `wrangler d1 migrations apply` records them, so that a kept state folder
 * is migrated only once. It runs inside workerd, so the database is reached the way the Worker
 * reaches it (Miniflare's Node-side D1 proxy makes synchronous calls that can fail under load).
 */
export const MIGRATOR_SCRIPT = `
export default {
  async fetch(request, env) {
    const db = env.DB;
    await db.prepare("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)").run();
    const applied = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
    const done = [];
    for (const { name, statements } of await request.json()) {
      if (applied.has(name)) continue;
      await db.batch([...statements.map((s) => db.prepare(s)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(name)]);
      done.push(name);
    }
    return Response.json({ applied: done });
  },
};
`;
