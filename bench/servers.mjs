// The two local servers of a bench run: Weir itself (scripts/local-server.mjs, the same
// `wrangler dev` as `npm start`) and the ceiling Worker (bench/ceilings/) in a second
// `wrangler dev` process on the same machine, with the same local proxy, each on a free port
// with fresh temporary state and no network.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startServer } from "../scripts/local-server.mjs";
import { localEnv, wranglerBin } from "../scripts/wrangler-env.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const START_TIMEOUT_MS = 90_000;

/** Tries to start a server 3 times: a free port can be taken by someone else before we bind it. */
async function withRetries(start) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

export const startWeir = (token, vars = {}) => withRetries(() => startServer({ vars: { ADMIN_TOKEN: token, ...vars } }));

/** Starts bench/ceilings/ under `wrangler dev`; resolves once it answers. */
export const startCeilings = () => withRetries(startCeilingsOnce);

async function startCeilingsOnce() {
  const port = await freePort();
  const inspectorPort = await freePort();
  const state = mkdtempSync(join(tmpdir(), "weir-ceilings-"));
  let output = "";
  const child = spawn(
    wranglerBin,
    ["dev", "--config", "bench/ceilings/wrangler.toml", "--port", String(port), "--ip", "127.0.0.1",
      "--inspector-port", String(inspectorPort), "--persist-to", state],
    { cwd: root, env: localEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.on("data", (d) => (output += d.toString()));
  child.stderr.on("data", (d) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ceiling worker exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/noop`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid, "SIGKILL");
      throw new Error(`ceiling worker did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    pid: child.pid,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        await exited;
      }
      rmSync(state, { recursive: true, force: true });
    },
  };
}

