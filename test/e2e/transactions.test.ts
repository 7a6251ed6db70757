import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../scripts/local-server.mjs";

// Transactions against `wrangler dev`, with a real HTTP server on loopback answering the
// check-backs, verifying each one's Weir-Signature as docs/security.md tells a receiver to.

const TOKEN = "e2e-transactions-token";
const SECRET = "e2e-outbound-signing-secret";

interface CheckBack {
  path: string;
  body: { topic: string; transaction_id: string; message_ids: string[]; check: number };
  signed: boolean;
}

/** The receiver's check of docs/security.md. */
function fromWeir(body: string, header: string, now = Date.now() / 1000): boolean {
  const parts = header.split(",").map((p) => p.trim().split("="));
  const t = parts.find(([k]) => k === "t")?.[1];
  if (!t || !/^\d+$/.test(t) || Math.abs(now - Number(t)) > 300) return false;
  const expected = Buffer.from(createHmac("sha256", SECRET).update(`${t}.${body}`).digest("hex"));
  return parts.some(([k, v]) => k === "v1" && v !== undefined && v.length === expected.length && timingSafeEqual(Buffer.from(v), expected));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => resolve(text));
  });
}

describe("transactions against `npm start`, with check-backs answered over HTTP", () => {
  let weir: LocalServer;
  let receiver: Server;
  let base: string;
  const checks: CheckBack[] = [];
  /** What the producer's service answers for a transaction id: its own database, in miniature. */
  const decisions = new Map<string, string>();

  beforeAll(async () => {
    receiver = createServer(async (request, response) => {
      const body = await readBody(request);
      const path = request.url ?? "";
      const header = String(request.headers["weir-signature"] ?? "");
      checks.push({ path, body: body ? JSON.parse(body) : null, signed: fromWeir(body, header) });
      if (path === "/redirect") {
        response.writeHead(307, { location: `${base}/followed` }).end();
        return;
      }
      if (path === "/broken") {
        response.writeHead(500).end("down for maintenance");
        return;
      }
      const id = (JSON.parse(body) as { transaction_id: string }).transaction_id;
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ decision: decisions.get(id) ?? "unknown" }));
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    weir = await startServer({ vars: { ADMIN_TOKEN: TOKEN, OUTBOUND_ALLOW_LOOPBACK: "true", OUTBOUND_SIGNING_SECRET: SECRET } });
    for (const [path, body] of [
      ["/v1/topics/e2e-tx", { partitions: 3 }],
      ["/v1/topics/e2e-tx/subscriptions/billing", {}],
    ] as const) {
      expect((await api("PUT", path, body)).status).toBe(201);
    }
  });

  afterAll(async () => {
    await weir?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${weir.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** A transaction that times out after 1 s when it has a check url (to be checked back soon), else 60 s. */
  async function prepare(messages: unknown[], check?: Record<string, unknown>): Promise<string> {
    const r = await api("POST", "/v1/topics/e2e-tx/transactions", { messages, timeout_seconds: check ? 1 : 60, ...(check ? { check } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.transaction.id;
  }

  /** Polls the transaction until it leaves `prepared` (the partition's alarm acts in real time). */
  async function settled(id: string): Promise<{ state: string; reason: string | null; checks: number }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await api("GET", `/v1/topics/e2e-tx/transactions/${id}`);
      if (r.body.transaction.state !== "prepared" || Date.now() > deadline) return r.body.transaction;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function receiveAll(): Promise<string[]> {
    const ids: string[] = [];
    for (let empty = 0; empty < 2; ) {
      const r = await api("POST", "/v1/topics/e2e-tx/subscriptions/billing/receive", { max_messages: 100, wait_seconds: 1 });
      const got = r.body.messages as { id: string; receipt: string }[];
      if (got.length === 0) {
        empty++;
        continue;
      }
      ids.push(...got.map((m) => m.id));
      await api("POST", "/v1/topics/e2e-tx/subscriptions/billing/ack", { receipts: got.map((m) => m.receipt) });
    }
    return ids.sort();
  }

  it("commits and rolls back on the client's word, over several partitions", async () => {
    const a = await prepare([{ id: "a1", key: "x", body: 1 }, { id: "a2", key: "y", body: 2 }, { id: "a3", key: "z", body: 3 }]);
    const b = await prepare([{ id: "b1", body: 1 }]);
    expect(await receiveAll()).toEqual([]);
    const committed = await api("POST", `/v1/topics/e2e-tx/transactions/${a}/commit`);
    expect(committed.status).toBe(200);
    expect(committed.body.results.map((r: { id: string }) => r.id)).toEqual(["a1", "a2", "a3"]);
    expect((await api("POST", `/v1/topics/e2e-tx/transactions/${b}/rollback`)).status).toBe(200);
    expect((await api("POST", `/v1/topics/e2e-tx/transactions/${b}/commit`)).body.error.code).toBe("transaction_rolled_back");
    expect(await receiveAll()).toEqual(["a1", "a2", "a3"]);
  });

  it("asks the producer's service, signed, and commits or rolls back as it answers", async () => {
    const check = { url: `${base}/check`, interval_seconds: 1, max_checks: 3 };
    const yes = await prepare([{ id: "yes-1", body: 1 }, { id: "yes-2", key: "k", body: 2 }], check);
    const no = await prepare([{ id: "no-1", body: 1 }], check);
    decisions.set(yes, "commit");
    decisions.set(no, "rollback");
    expect(await settled(yes)).toMatchObject({ state: "committed", checks: 1 });
    expect(await settled(no)).toMatchObject({ state: "rolled_back", reason: "client", checks: 1 });
    const asked = checks.filter((c) => c.path === "/check");
    expect(asked.every((c) => c.signed)).toBe(true);
    expect(asked.find((c) => c.body.transaction_id === yes)?.body).toEqual({
      topic: "e2e-tx",
      transaction_id: yes,
      message_ids: ["yes-1", "yes-2"],
      check: 1,
    });
    expect(await receiveAll()).toEqual(["yes-1", "yes-2"]);
  });

  it("rolls back as unresolved after max_checks unknown answers, errors or redirects, and never follows a redirect", async () => {
    const unknown = await prepare([{ id: "u-1", body: 1 }], { url: `${base}/check`, interval_seconds: 1, max_checks: 2 });
    const broken = await prepare([{ id: "e-1", body: 1 }], { url: `${base}/broken`, interval_seconds: 1, max_checks: 2 });
    const moved = await prepare([{ id: "r-1", body: 1 }], { url: `${base}/redirect`, interval_seconds: 1, max_checks: 2 });
    for (const id of [unknown, broken, moved]) {
      expect(await settled(id)).toMatchObject({ state: "rolled_back", reason: "unresolved", checks: 2 });
    }
    expect(checks.filter((c) => c.path === "/redirect")).toHaveLength(2);
    expect(checks.filter((c) => c.path === "/followed")).toHaveLength(0);
    expect(await receiveAll()).toEqual([]);
  });
});
