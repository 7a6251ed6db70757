// Starts `npm start` (scripts/start.mjs) on a free port with its state in a new temporary
// folder, for the end-to-end tests, the benchmark and the chaos harness.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** A TCP port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * @param {{ state?: string, port?: number, vars?: Record<string, string> }} [options]
 *   state: the persistence folder (a new temporary one if not given, removed on stop)
 *   vars: Worker variables that override .dev.vars, e.g. { ADMIN_TOKEN: "..." }
 * @returns {Promise<{ url: string, port: number, inspectorPort: number, state: string, pid: number, log(): string, stop(): Promise<void>, kill(): Promise<void> }>}
 */
export async function startServer(options = {}) {
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const ownState = options.state === undefined;
  const state = options.state ?? mkdtempSync(join(tmpdir(), "weir-"));
  let output = "";
  const child = spawn(
    process.execPath,
    [
      "scripts/start.mjs",
      "--persist-to",
      state,
      "--inspector-port",
      String(inspectorPort),
      ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    {
      cwd: root,
      env: { ...process.env, PORT: String(port) },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout.on("data", (d) => (output += d.toString()));
  child.stderr.on("data", (d) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const signalGroup = async (signal) => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
      await exited;
    }
  };
  return {
    url,
    port,
    /** wrangler dev's inspector (Chrome DevTools protocol): bench/profile.mjs reads a CPU profile from it. */
    inspectorPort,
    state,
    pid: child.pid,
    log: () => output,
    /** Stops the server and, if the state folder was made here, removes it. */
    stop: async () => {
      await signalGroup("SIGTERM");
      if (ownState) rmSync(state, { recursive: true, force: true });
    },
    /** Kills the whole process group at once, leaving the state as it is. */
    kill: () => signalGroup("SIGKILL"),
  };
}

/** The workerd processes in a server's process group: pid and /proc stat fields (Linux). */
function workerdProcesses(groupLeader) {
  const found = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces: fields count from after it.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === groupLeader && stat.includes("(workerd)")) found.push({ pid, fields });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Resident memory of the workerd process(es) in a server's process group, in MiB. */
export function workerdRssMiB(groupLeader) {
  let kib = 0;
  for (const { pid } of workerdProcesses(groupLeader)) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // the process ended while we looked
    }
  }
  return kib / 1024;
}

/** CPU time (user + system) the workerd process(es) of a server's process group have used, in ms. */
export function workerdCpuMs(groupLeader) {
  // utime and stime, in clock ticks of 1/100 s (USER_HZ on Linux).
  return workerdProcesses(groupLeader).reduce((ms, { fields }) => ms + (Number(fields[11]) + Number(fields[12])) * 10, 0);
}
