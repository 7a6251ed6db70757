// Weir in-process under Miniflare, for tests: the same Worker `wrangler deploy` uploads, with
// SQLite Durable Objects and a D1 catalog, on a free port of 127.0.0.1.
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { Log, LogLevel, Miniflare } from "miniflare";
import { MIGRATOR, MIGRATOR_SCRIPT, statements } from "./migrations.js";

export interface StartWeirOptions {
  /**
   * A folder for the state (catalog and partitions); starting again with the same folder finds
   * everything where it was. Default: a fresh state in memory, gone after stop().
   */
  persist?: string;
  /** Default: a free port. */
  port?: number;
  /** The admin token. Default: "weir-test-admin-token". */
  token?: string;
  /** More Worker variables, e.g. { OUTBOUND_ALLOW_LOOPBACK: "true" }. */
  vars?: Record<string, string>;
  /** Print the Worker's log (console output, errors) to the terminal. Default: false. */
  verbose?: boolean;
}

export interface WeirServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The admin token. */
  token: string;
  /**
   * Runs the Worker's scheduled handler (the cron sweeps: expired leases, dead letters,
   * retention, surge) once, as the minute's cron would, and resolves when it has finished.
   */
  runCron(): Promise<void>;
  /** Stops the server. Safe to call twice. */
  stop(): Promise<void>;
}

/** What the build (scripts/build.mjs) took from wrangler.toml. */
interface WorkerConfig {
  compatibilityDate: string;
  compatibilityFlags: string[];
  durableObjects: { binding: string; className: string; sqlite: boolean }[];
  d1Databases: { binding: string; id: string }[];
  crons: string[];
  migrations: string[];
}

// src/testing and dist/testing are both two folders below the package, next to worker/.
const workerDir = new URL("../../worker/", import.meta.url);

/** Starts a Weir server in this process (it takes a second or two). */
export async function startWeir(options: StartWeirOptions = {}): Promise<WeirServer> {
  const config = JSON.parse(await readFile(new URL("config.json", workerDir), "utf8")) as WorkerConfig;
  const token = options.token ?? "weir-test-admin-token";
  const persist = options.persist;
  const weir = {
    name: "weir",
    modules: true,
    modulesRoot: workerDir.pathname,
    scriptPath: new URL("index.js", workerDir).pathname,
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    durableObjects: Object.fromEntries(
      config.durableObjects.map((o) => [o.binding, { className: o.className, useSQLite: o.sqlite }]),
    ),
    d1Databases: Object.fromEntries(config.d1Databases.map((d) => [d.binding, d.id])),
    bindings: {
      ADMIN_TOKEN: token,
      RECEIPT_SECRET: `${token}-receipts`,
      OUTBOUND_SIGNING_SECRET: `${token}-outbound`,
      ...options.vars,
    },
  };
  // One migrator per D1 database, bound to it as DB.
  const migrators = config.d1Databases.map((d) => ({
    name: `${MIGRATOR}-${d.binding}`,
    modules: true,
    script: MIGRATOR_SCRIPT,
    compatibilityDate: config.compatibilityDate,
    d1Databases: { DB: d.id },
  }));
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: options.port ?? 0,
    log: options.verbose ? new Log(LogLevel.INFO) : undefined,
    // The Worker's console output: to this process's terminal when verbose, else dropped.
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      if (options.verbose) {
        stdout.pipe(process.stdout);
        stderr.pipe(process.stderr);
      } else {
        stdout.resume();
        stderr.resume();
      }
    },
    // The first worker is the one served on the port.
    workers: [weir, ...migrators],
    // GET /cdn-cgi/handler/scheduled runs the scheduled handler (runCron), as `wrangler dev
    // --test-scheduled` offers at /__scheduled.
    unsafeTriggerHandlers: true,
    ...(persist === undefined
      ? {}
      : { durableObjectsPersist: `${persist}/do`, d1Persist: `${persist}/d1`, cachePersist: `${persist}/cache` }),
  });
  try {
    const url = await mf.ready;
    const files = await Promise.all(
      config.migrations.map(async (name) => ({
        name,
        statements: statements(await readFile(new URL(`migrations/${name}`, workerDir), "utf8")),
      })),
    );
    for (const migrator of migrators) {
      const answer = await (await mf.getWorker(migrator.name)).fetch("http://migrations/", { method: "POST", body: JSON.stringify(files) });
      if (!answer.ok) throw new Error(`applying the catalog migrations failed: ${answer.status} ${await answer.text()}`);
    }
    let stopped: Promise<void> | null = null;
    return {
      url: url.origin,
      token,
      runCron: async () => {
        const cron = encodeURIComponent(config.crons[0] ?? "* * * * *");
        const answer = await mf.dispatchFetch(`${url.origin}/cdn-cgi/handler/scheduled?cron=${cron}&time=${Date.now()}`);
        const outcome = await answer.text();
        if (!answer.ok) throw new Error(`the scheduled handler ended with ${outcome}`);
      },
      stop: () => (stopped ??= mf.dispose()),
    };
  } catch (error) {
    await mf.dispose();
    throw error;
  }
}
