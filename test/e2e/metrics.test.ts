import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../scripts/local-server.mjs";

// promtool comes from Debian's `prometheus` package; .ci/setup installs it in CI. Without it a
// developer's run skips these checks; CI never does.
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;
if (!hasPromtool && process.env.CI) throw new Error("promtool is missing: run .ci/setup (apt-get install prometheus)");

const headers = { authorization: "Bearer weir-local-admin-token", "content-type": "application/json" };

/** The alert rules of docs/operations.md, between their markers. */
function documentedRules(): string {
  const doc = readFileSync("docs/operations.md", "utf8");
  const block = /<!-- alert-rules:start -->\s*```yaml\n([\s\S]*?)```\s*<!-- alert-rules:end -->/.exec(doc);
  if (!block) throw new Error("docs/operations.md has no alert-rules block");
  return block[1]!;
}

describe.skipIf(!hasPromtool)("/metrics against `npm start`, checked by promtool", () => {
  let server: LocalServer;
  const work = mkdtempSync(join(tmpdir(), "weir-promtool-"));
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("answers text that `promtool check metrics` accepts, with the SPEC's families", async () => {
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    await api("PUT", "/v1/topics/metrics-e2e", { partitions: 2 });
    await api("PUT", "/v1/topics/metrics-e2e/subscriptions/billing", { max_deliveries: 1 });
    await api("POST", "/v1/topics/metrics-e2e/messages", { messages: [{ body: 1 }, { body: "quote \" and \\ backslash" }] });
    const received = (await (await api("POST", "/v1/topics/metrics-e2e/subscriptions/billing/receive", { max_messages: 2 })).json()) as {
      messages: { receipt: string }[];
    };
    await api("POST", "/v1/topics/metrics-e2e/subscriptions/billing/nack", { receipts: [received.messages[0]!.receipt], dead_letter: true });
    const key = (await (await api("POST", "/v1/keys", { name: "prometheus", scopes: ["metrics"] })).json()) as { secret: string };

    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${key.secret}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const family of [
      "weir_messages_ready",
      "weir_messages_in_flight",
      "weir_messages_delayed",
      "weir_oldest_unacked_age_seconds",
      "weir_messages_produced_total",
      "weir_messages_acked_total",
      "weir_messages_redelivered_total",
      "weir_messages_dead_lettered_total",
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
    expect(text).toContain('weir_messages_dead_lettered_total{topic="metrics-e2e",subscription="billing",reason="rejected"} 1');
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stdout + check.stderr, "promtool check metrics").toBe("");
    expect(check.status).toBe(0);
  });

  it("documents alert rules that `promtool check rules` accepts", () => {
    const file = join(work, "rules.yml");
    writeFileSync(file, documentedRules());
    const out = execFileSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    expect(out).toContain("SUCCESS: 3 rules found");
  });
});
