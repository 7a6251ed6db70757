import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../scripts/local-server.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = "weir-local-admin-token";
const SHOTS = "test-results";

describe("the dashboard and /docs in headless Chromium, offline but for the server", () => {
  let server: LocalServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  /** Every URL the browser asked for, and every console error (a CSP violation shows there). */
  const requested: string[] = [];
  const consoleErrors: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : ((await r.json()) as any);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer();
    profile = mkdtempSync(join(tmpdir(), "weir-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("request", (request) => requested.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("signs in with a key and shows a topic as it appears", async () => {
    await api("PUT", "/v1/topics/shop", { partitions: 2 });
    await api("PUT", "/v1/topics/shop/subscriptions/billing", { max_deliveries: 1 });
    await page.goto(`${server.url}/`);
    await page.fill("#key", ADMIN);
    await page.click("#sign-in-form button[type=submit]");
    await page.locator('tr[data-topic="shop"][data-subscription="billing"]').waitFor();
    // A topic created after signing in shows up with the next refresh (every 5 s).
    await api("PUT", "/v1/topics/appearing", { partitions: 1 });
    await page.locator('tr[data-topic="appearing"]').waitFor({ timeout: 15_000 });
    expect(page.url()).not.toContain(ADMIN);
    await page.screenshot({ path: `${SHOTS}/dashboard-topics.png`, fullPage: true });
  });

  it("looks up a message by id and shows its trace as a timeline", async () => {
    await api("POST", "/v1/topics/shop/messages", { messages: [{ id: "order-42", key: "customer-7", body: { total: 42 } }] });
    const got = await api("POST", "/v1/topics/shop/subscriptions/billing/receive", { max_messages: 1 });
    await api("POST", "/v1/topics/shop/subscriptions/billing/ack", { receipts: [got.messages[0].receipt] });
    await page.fill("#lookup-topic", "shop");
    await page.fill("#lookup-id", "order-42");
    await page.click("#lookup-form button[type=submit]");
    const events = page.locator("#trace li .event");
    await events.first().waitFor();
    expect(await events.allTextContents()).toEqual(["produced", "leased", "acked"]);
    expect(await page.textContent("#message-state")).toBe("stored");
    await page.screenshot({ path: `${SHOTS}/dashboard-trace.png`, fullPage: true });
  });

  it("shows a lease's end as a time, and a message prepared in a transaction with its transaction", async () => {
    await api("POST", "/v1/topics/shop/messages", { messages: [{ id: "order-43", key: "customer-7", body: { total: 43 } }] });
    const got = await api("POST", "/v1/topics/shop/subscriptions/billing/receive", { max_messages: 1 });
    await page.fill("#lookup-id", "order-43");
    await page.click("#lookup-form button[type=submit]");
    const leased = page.locator("#trace li", { hasText: "leased" });
    await leased.waitFor();
    expect(await leased.textContent()).toMatch(/lease_end: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    // Acked, so that its lease does not run out into a dead letter during the next test.
    await api("POST", "/v1/topics/shop/subscriptions/billing/ack", { receipts: [got.messages[0].receipt] });

    const { transaction } = await api("POST", "/v1/topics/shop/transactions", { messages: [{ id: "order-44", body: { total: 44 } }] });
    await page.fill("#lookup-id", "order-44");
    await page.click("#lookup-form button[type=submit]");
    await expect.poll(async () => page.textContent("#message-state")).toBe("prepared");
    expect(await page.locator("#trace li .event").allTextContents()).toEqual(["prepared"]);
    expect(await page.textContent("#lookup-result")).toContain(`transaction ${transaction.id}`);
    await page.screenshot({ path: `${SHOTS}/dashboard-trace-prepared.png`, fullPage: true });
  });

  it("redrives a dead letter with a click, and its count falls", async () => {
    await api("POST", "/v1/topics/shop/messages", { messages: [{ id: "bad-1", body: { broken: true } }] });
    const got = await api("POST", "/v1/topics/shop/subscriptions/billing/receive", { max_messages: 1 });
    await api("POST", "/v1/topics/shop/subscriptions/billing/nack", { receipts: [got.messages[0].receipt], dead_letter: true });
    // The cron's sample feeds the charts (wrangler dev --test-scheduled runs it on request).
    await fetch(`${server.url}/__scheduled?cron=*+*+*+*+*`);
    await page.click('tr[data-topic="shop"]');
    const total = page.locator('.dead-letter-block[data-subscription="billing"] .dead-letter-total');
    await expect.poll(async () => (await total.textContent())?.trim(), { timeout: 20_000, interval: 500 }).toBe("1");
    await page.screenshot({ path: `${SHOTS}/dashboard-dead-letters.png`, fullPage: true });
    await page.click('button[data-redrive="billing"]');
    await expect.poll(async () => (await total.textContent())?.trim(), { timeout: 20_000, interval: 500 }).toBe("0");
    const cell = page.locator('tr[data-topic="shop"][data-subscription="billing"] td[data-field="dead_letters"]');
    await expect.poll(async () => (await cell.textContent())?.trim(), { timeout: 20_000, interval: 500 }).toBe("0");
    expect(await page.locator("#chart-backlog polyline, #chart-backlog text").count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/dashboard-redriven.png`, fullPage: true });
  });

  it("renders /docs with every operation, from the server alone", async () => {
    await page.goto(`${server.url}/docs`);
    const operations = page.locator("details.operation");
    await operations.first().waitFor();
    const names = await page.locator("details.operation").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-operation")));
    expect(names).toEqual(expect.arrayContaining(["POST /v1/topics/{topic}/messages", "GET /v1/topics/{topic}/messages/{id}", "GET /metrics"]));
    expect(names.length).toBeGreaterThan(20);
    await page.screenshot({ path: `${SHOTS}/docs.png`, fullPage: true });
  });

  it("asked nothing of any host but the server, and met no Content-Security-Policy violation", () => {
    expect(requested.length).toBeGreaterThan(5);
    const elsewhere = requested.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith("data:"));
    expect(elsewhere).toEqual([]);
    expect(new URL(server.url).hostname).toBe("127.0.0.1");
    expect(consoleErrors.filter((e) => /Content.Security.Policy/i.test(e))).toEqual([]);
  });
});
