/** The part of a D1 binding this module uses. */
interface D1Statement {
  bind(...values: unknown[]): D1Statement;
  run(): Promise<unknown>;
  all<T>(): Promise<{ results: T[] }>;
}
interface D1Database {
  prepare(sql: string): D1Statement;
  batch(statements: D1Statement[]): Promise<unknown>;
}

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

/**
 * Applies the migrations not applied yet, each in one batch, recording them in `d1_migrations`
 * as `wrangler d1 migrations apply` does, so a kept state folder is migrated only once.
 */
export async function applyMigrations(db: D1Database, files: { name: string; sql: string }[]): Promise<void> {
  await db
    .prepare(
      "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, " +
        "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    )
    .run();
  const applied = new Set((await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name));
  for (const { name, sql } of files) {
    if (applied.has(name)) continue;
    await db.batch([
      ...statements(sql).map((s) => db.prepare(s)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(name),
    ]);
  }
}
