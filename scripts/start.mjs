// `npm start`: applies the catalog migrations to the local D1 database, then runs
// `wrangler dev` on http://localhost:8787 with local persistence (.wrangler/state).
// PORT changes the port; extra arguments go to wrangler dev, e.g. `npm start -- --persist-to /tmp/weir`.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { localEnv, wranglerBin } from "./wrangler-env.mjs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars with the local admin token (see README).");
}

const args = process.argv.slice(2);
const persist = args.includes("--persist-to") ? ["--persist-to", args[args.indexOf("--persist-to") + 1]] : [];

const migrate = spawnSync(wranglerBin, ["d1", "migrations", "apply", "CATALOG", "--local", ...persist], {
  stdio: "inherit",
  env: localEnv(),
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(wranglerBin, ["dev", "--port", process.env.PORT ?? "8787", "--ip", "127.0.0.1", "--test-scheduled", ...args], {
  stdio: "inherit",
  env: localEnv(),
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
