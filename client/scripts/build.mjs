// Builds the package: the TypeScript sources into dist/, and the Weir Worker that
// `@weir/client/testing` runs under Miniflare into worker/ (the bundle `wrangler deploy` would
// upload, the catalog migrations, and the bindings of wrangler.toml). Runs in `prepare`, so
// `npm ci` at the repository root leaves the package ready to import.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const client = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(client, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

/** Runs a build step, showing its output only if it fails. */
function run(command, args, cwd) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (result.status !== 0) {
    console.error(`${result.stdout}${result.stderr}\n@weir/client build: ${command} ${args.join(" ")} failed`);
    process.exit(result.status ?? 1);
  }
}

rmSync(join(client, "dist"), { recursive: true, force: true });
run(bin("tsc"), ["-p", "tsconfig.json"], client);

const worker = join(client, "worker");
rmSync(worker, { recursive: true, force: true });
run(bin("wrangler"), ["deploy", "--dry-run", "--outdir", worker, "--config", join(root, "wrangler.toml")], root);
for (const extra of ["README.md", "index.js.map"]) rmSync(join(worker, extra), { force: true });

mkdirSync(join(worker, "migrations"));
const migrations = readdirSync(join(root, "migrations")).filter((f) => f.endsWith(".sql")).sort();
for (const file of migrations) copyFileSync(join(root, "migrations", file), join(worker, "migrations", file));

// What Miniflare needs from wrangler.toml, read by wrangler itself.
const { unstable_readConfig } = await import("wrangler");
const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
writeFileSync(
  join(worker, "config.json"),
  `${JSON.stringify(
    {
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      durableObjects: config.durable_objects.bindings.map((b) => ({
        binding: b.name,
        className: b.class_name,
        sqlite: config.migrations.some((m) => m.new_sqlite_classes?.includes(b.class_name)),
      })),
      d1Databases: config.d1_databases.map((d) => ({ binding: d.binding, id: d.database_id })),
      crons: config.triggers.crons ?? [],
      migrations,
    },
    null,
    2,
  )}\n`,
);
