import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../scripts/local-server.mjs";
import { ndjsonLines } from "../ndjson";

/** The shell block of the README between the walkthrough markers. */
function readmeWalkthrough(): string {
  const readme = readFileSync("README.md", "utf8");
  const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme);
  if (!block) throw new Error("README.md has no walkthrough block");
  return block[1]!;
}

/** The JSON values printed one after another (curl prints no newline after a body). */
function splitJson(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") {
      if (depth++ === 0) start = i;
    } else if (ch === "}" && --depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
  }
  return values;
}

describe("the README walk-through against `npm start`", () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("creates, produces, receives, acks and reports, over HTTP", () => {
    const out = execFileSync("bash", ["-euo", "pipefail", "-c", readmeWalkthrough()], {
      env: { ...process.env, WEIR: server.url },
      encoding: "utf8",
    });
    const [topic, subscription, produced, received, acked, stats] = splitJson(out) as any[];
    expect(topic).toMatchObject({ name: "orders", partitions: 4 });
    expect(subscription).toMatchObject({ name: "billing", mode: "shared", visibility_timeout_seconds: 30 });
    expect(produced.results.map((r: { id: string }) => r.id)).toEqual(["order-1", "order-2"]);
    // The long poll answers as soon as any message is there: drain the rest if it was one.
    expect(received.messages.length).toBeGreaterThanOrEqual(1);
    expect(received.messages[0]).toMatchObject({ attempt: 1 });
    expect(acked.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    expect(acked.results).toHaveLength(received.messages.length);
    expect(stats.subscriptions[0]).toMatchObject({ name: "billing", in_flight: 0 });
    expect(stats.subscriptions[0].ready).toBe(2 - received.messages.length);
  });

  it("streams each message through the local proxy as it is produced, not at the stream's end", async () => {
    const headers = { authorization: "Bearer weir-local-admin-token", "content-type": "application/json" };
    const put = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: "PUT", headers, body: JSON.stringify(body) });
    expect((await put("/v1/topics/e2e-stream", { partitions: 2 })).status).toBe(201);
    expect((await put("/v1/topics/e2e-stream/subscriptions/live", {})).status).toBe(201);
    const stream = await fetch(`${server.url}/v1/topics/e2e-stream/subscriptions/live/stream`, {
      method: "POST",
      headers,
      body: JSON.stringify({ max_messages: 2, wait_seconds: 30 }),
    });
    expect(stream.status).toBe(200);
    const lines = ndjsonLines<any>(stream.body!);
    const produce = (body: unknown) =>
      fetch(`${server.url}/v1/topics/e2e-stream/messages`, { method: "POST", headers, body: JSON.stringify({ messages: [{ body }] }) });
    for (const body of ["first", "second"]) {
      const started = Date.now();
      expect((await produce(body)).status).toBe(200);
      const line = await lines.next();
      expect(line.messages.map((m: { body: unknown }) => m.body)).toEqual([body]);
      // Far below the 30 s the stream stays open: the line came when the message did.
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    expect(await lines.next()).toMatchObject({ end: "max_messages" });
  });

  it("serves the API description and the docs page without a key", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toBe("3.1.0");
    expect((await fetch(`${server.url}/docs`)).status).toBe(200);
  });

  it("logs no error and no stack trace", () => {
    const log = server.log();
    expect(log).toContain("Ready on");
    expect(log).not.toMatch(/\berror\b/i);
    expect(log).not.toMatch(/^\s+at /m);
  });
});
