import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import { ROUTE_ACCESS } from "../../src/http/auth";
import { call, createSubscription, createTopic, uniqueName } from "../helpers";
import { createKey } from "../security/keys";

/** Every route of the app as ROUTE_ACCESS names it, with a path to call it on `topic`. */
function routeTable(topic: string) {
  const routes = createApp().routes.filter((r) => r.method !== "ALL");
  return routes.map((r) => ({
    key: `${r.method} ${r.path}`,
    method: r.method,
    path: r.path
      .replace(":topic", topic)
      .replace(":subscription", "s")
      .replace(":id", "0000000000000000")
      .replace(/:file\{[^}]*\}/, "dashboard.js"),
  }));
}

/** Whether the answer got past authentication and scopes (whatever the route made of it then). */
const admitted = (status: number) => status !== 401 && status !== 403;

describe("authentication", () => {
  it("lets anyone call /healthz, /openapi.json, /docs and the dashboard's page and files", async () => {
    for (const path of ["/healthz", "/openapi.json", "/docs", "/", "/ui/dashboard.js"]) {
      const r = await call("GET", path, undefined, { token: null });
      expect(r.status, path).toBe(200);
    }
  });

  it("answers 401 without a key, with a wrong key, and with a malformed header", async () => {
    for (const token of [null, "wrong", "", "wk_0000000000000000_" + "A".repeat(43)]) {
      const r = await call("GET", "/v1/topics", undefined, { token });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
    }
    const basic = await call("GET", "/v1/topics", undefined, { token: null, headers: { authorization: "Basic abc" } });
    expect(basic.status).toBe(401);
  });

  it("names a scope decision for every route of the app, and no route that is gone", () => {
    const keys = routeTable("t").map((r) => r.key);
    expect(keys.length).toBeGreaterThan(15);
    expect(keys.filter((k) => !(k in ROUTE_ACCESS)), "routes missing from ROUTE_ACCESS in src/http/auth.ts").toEqual([]);
    expect(Object.keys(ROUTE_ACCESS).filter((k) => !keys.includes(k)), "ROUTE_ACCESS rules of no route").toEqual([]);
  });

  it("protects every route of the app but the public ones", async () => {
    for (const route of routeTable("x")) {
      const r = await call(route.method, route.path, route.method === "GET" ? undefined : {}, { token: null });
      const expected = ROUTE_ACCESS[route.key]?.need === "public" ? 200 : 401;
      expect(r.status, route.key).toBe(expected);
    }
  });

  it("refuses a redrive to a key without consume on the subscription's dead-letter topic", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const onlyTopic = await createKey([`consume:${topic}`]);
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, {}, { token: onlyTopic.secret });
    expect(r.status).toBe(403);
    expect(r.body.error.details).toMatchObject({ needed: `consume:${topic}.dlq` });
    const both = await createKey([`consume:${topic}`, `consume:${topic}.dlq`]);
    expect((await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/redrive`, {}, { token: both.secret })).status).toBe(200);
  });

  it("answers every route by its scope: admin everything, produce and consume only their routes and topics", async () => {
    const topic = await createTopic(1, uniqueName("scoped"));
    const other = await createTopic(1, uniqueName("other"));
    const admin = await createKey(["admin"]);
    const producer = await createKey([`produce:${topic}`]);
    // A redrive needs consume on the dead-letter topic as well (its own test is below).
    const consumer = await createKey([`consume:${topic}`, `consume:${topic}.dlq`]);
    const everything = await createKey([`produce:${topic}`, `consume:${topic}`]);
    for (const route of routeTable(topic)) {
      const need = ROUTE_ACCESS[route.key]!.need;
      if (need === "public") continue;
      // A stream stays open for wait_seconds (60 by default): 0 makes it answer at once.
      const body = route.method === "GET" || route.method === "DELETE" ? undefined : route.key.endsWith("/stream") ? { wait_seconds: 0 } : {};
      const as = async (secret: string, path = route.path) => (await call(route.method, path, body, { token: secret })).status;
      // Deleting would remove the fixture; the admin key's pass is shown on a throwaway name.
      const adminPath = route.method === "DELETE" ? route.path.replace(topic, uniqueName("gone")) : route.path;
      expect(admitted(await as(admin.secret, adminPath)), `admin key on ${route.key}`).toBe(true);
      expect(admitted(await as(producer.secret)), `produce key on ${route.key}`).toBe(need === "produce" || need === "produce_or_consume");
      expect(admitted(await as(consumer.secret)), `consume key on ${route.key}`).toBe(need === "consume" || need === "produce_or_consume");
      if (need !== "admin" && need !== "metrics") {
        expect(await as(everything.secret, route.path.replace(topic, other)), `other topic on ${route.key}`).toBe(403);
        expect(await as(everything.secret, route.path.replace(topic, "x")), `undecodable topic on ${route.key}`).toBe(403);
      } else {
        expect(await as(everything.secret), `topic key on admin route ${route.key}`).toBe(403);
      }
    }
  }, 60_000);

  it("answers 403 forbidden naming the scope that is missing", async () => {
    const topic = await createTopic();
    const sub = await createSubscription(topic);
    const producer = await createKey([`produce:${topic}`]);
    const r = await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, {}, { token: producer.secret });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: "forbidden", details: { needed: `consume:${topic}`, has: [`produce:${topic}`] } });
    expect(r.body.error.message).toContain(`consume:${topic}`);
  });

  it("refuses a key on an unknown route with 401 before telling it there is none", async () => {
    expect((await call("GET", "/v1/nothing", undefined, { token: null })).status).toBe(401);
    const key = await createKey(["consume:x"]);
    expect((await call("GET", "/v1/nothing", undefined, { token: key.secret })).status).toBe(404);
  });

  it("documents every route in /openapi.json, with 401 and 403 answers", async () => {
    const doc = await call("GET", "/openapi.json", undefined, { token: null });
    const documented = Object.keys(doc.body.paths);
    for (const path of ["/v1/topics/{topic}", "/v1/topics/{topic}/messages", "/v1/topics/{topic}/subscriptions/{subscription}/receive", "/v1/keys", "/v1/keys/{id}"]) {
      expect(documented).toContain(path);
    }
    expect(Object.keys(doc.body.paths["/v1/keys"].post.responses)).toEqual(expect.arrayContaining(["201", "401", "403"]));
  });
});
