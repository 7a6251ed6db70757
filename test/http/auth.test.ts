import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import { PUBLIC_PATHS } from "../../src/http/auth";
import { call } from "../helpers";

describe("authentication", () => {
  it("lets anyone call /healthz, /openapi.json and /docs", async () => {
    for (const path of ["/healthz", "/openapi.json", "/docs"]) {
      const r = await call("GET", path, undefined, { token: null });
      expect(r.status, path).toBe(200);
    }
  });

  it("answers 401 without a key, with a wrong key, and with a malformed header", async () => {
    for (const token of [null, "wrong", ""]) {
      const r = await call("GET", "/v1/topics", undefined, { token });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
    }
    const basic = await call("GET", "/v1/topics", undefined, { token: null, headers: { authorization: "Basic abc" } });
    expect(basic.status).toBe(401);
  });

  it("protects every route of the app but the public ones", async () => {
    const routes = createApp().routes.filter((r) => r.method !== "ALL");
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      const path = route.path.replace(/:[a-z_]+/g, "x");
      const r = await call(route.method, path, route.method === "GET" ? undefined : {}, { token: null });
      if (PUBLIC_PATHS.has(route.path)) expect(r.status, `${route.method} ${route.path}`).toBe(200);
      else expect(r.status, `${route.method} ${route.path}`).toBe(401);
    }
  });

  it("documents every route in /openapi.json", async () => {
    const doc = await call("GET", "/openapi.json", undefined, { token: null });
    const documented = Object.keys(doc.body.paths);
    for (const path of ["/v1/topics/{topic}", "/v1/topics/{topic}/messages", "/v1/topics/{topic}/subscriptions/{subscription}/receive"]) {
      expect(documented).toContain(path);
    }
  });
});
