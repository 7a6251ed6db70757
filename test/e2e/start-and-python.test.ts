// `npm start` as a user types it (`npm start -- --port 9000`), and the Python standard-library
// example (examples/python) against it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/local-server.mjs";

const TOKEN = "e2e-python-token";

describe("npm start -- --port N", () => {
  let child: ChildProcess;
  let exited: Promise<unknown>;
  let state: string;
  let url: string;
  let output = "";

  beforeAll(async () => {
    const port = await freePort();
    state = mkdtempSync(join(tmpdir(), "weir-start-"));
    url = `http://127.0.0.1:${port}`;
    child = spawn(
      "npm",
      ["start", "--", "--port", String(port), "--persist-to", state, "--inspector-port", String(await freePort()), "--var", `ADMIN_TOKEN:${TOKEN}`],
      // PORT is set to another port: the flag wins.
      { env: { ...process.env, PORT: String(await freePort()) }, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => child.once("exit", resolve));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`npm start did not listen on ${url}:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    if (child?.exitCode === null) {
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    }
    rmSync(state, { recursive: true, force: true });
  });

  it("listens on the port given with --port", async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
    expect(output).not.toContain("expects a single value");
  });

  it("serves the Python example, which produces and consumes", () => {
    const run = spawnSync("python3", ["examples/python/produce_consume.py"], {
      encoding: "utf8",
      env: { ...process.env, WEIR_URL: url, WEIR_TOKEN: TOKEN },
      timeout: 60_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("produced order-1");
    expect(run.stdout.match(/^received order-\d \(attempt 1\)/gm)).toHaveLength(3);
    expect(run.stdout).toContain("done: 3 messages, 0 ready, 0 in flight");
  });
});
