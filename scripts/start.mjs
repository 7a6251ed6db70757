// `npm start`: applies the catalog migrations to the local D1 database, then runs
// `wrangler dev` on http://localhost:8787 with local persistence (.wrangler/state).
// `--port N` (or PORT) changes the port; other arguments go to wrangler dev, e.g.
// `npm start -- --port 9000 --persist-to /tmp/weir`.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { localEnv, wranglerBin } from "./wrangler-env.mjs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars with the local admin token (see README).");
}

/**
 * Takes `--name value` or `--name=value` out of args (the last one wins); null when absent.
 * wrangler dev refuses an option given twice, and this script gives it --port itself.
 */
function takeOption(args, name) {
  let value = null;
  for (let i = 0; i < args.length; ) {
    if (args[i] === name && i + 1 < args.length) {
      value = args[i + 1];
      args.splice(i, 2);
    } else if (args[i].startsWith(`${name}=`)) {
      value = args[i].slice(name.length + 1);
      args.splice(i, 1);
    } else i++;
  }
  return value;
}

const args = process.argv.slice(2);
const port = takeOption(args, "--port") ?? process.env.PORT ?? "8787";
if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
  console.error(`--port must be a port number (1-65535), got ${port}`);
  process.exit(2);
}
const persistTo = takeOption(args, "--persist-to");
const persist = persistTo === null ? [] : ["--persist-to", persistTo];

// The dashboard's files go into the bundle (src/http/page-files.ts) as they are in public/.
const pages = spawnSync(process.execPath, ["scripts/embed-pages.mjs"], { stdio: "inherit" });
if (pages.status !== 0) process.exit(pages.status ?? 1);

const migrate = spawnSync(wranglerBin, ["d1", "migrations", "apply", "CATALOG", "--local", ...persist], {
  stdio: "inherit",
  env: localEnv(),
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(wranglerBin, ["dev", "--port", port, "--ip", "127.0.0.1", "--test-scheduled", ...persist, ...args], {
  stdio: "inherit",
  env: localEnv(),
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
