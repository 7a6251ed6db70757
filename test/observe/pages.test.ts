import { describe, expect, it } from "vitest";
import { call } from "../helpers";

const PAGES = ["/", "/docs", "/ui/dashboard.js", "/ui/dashboard.css", "/ui/docs.js", "/ui/docs.css"];

describe("dashboard and docs pages", () => {
  it("are served by the Worker without a key, under a strict Content-Security-Policy", async () => {
    for (const path of PAGES) {
      const r = await call("GET", path, undefined, { token: null });
      expect(r.status, path).toBe(200);
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
    }
  });

  it("name no other origin: nothing is loaded from a CDN", async () => {
    for (const path of PAGES) {
      const text = (await call("GET", path, undefined, { token: null })).body as string;
      // The SVG namespace is a name, not a request.
      const urls = [...text.matchAll(/https?:\/\/[^\s"'`)]+/g)].map((m) => m[0]).filter((u) => u !== "http://www.w3.org/2000/svg");
      expect(urls, path).toEqual([]);
    }
  });

  it("weigh under 200 KB together", async () => {
    let bytes = 0;
    for (const path of ["/", "/ui/dashboard.js", "/ui/dashboard.css"]) {
      bytes += new TextEncoder().encode((await call("GET", path, undefined, { token: null })).body as string).length;
    }
    expect(bytes).toBeLessThan(200 * 1024);
  });

  it("carry their type and an ETag, and answer a revalidation with that ETag 304", async () => {
    const types: Record<string, string> = {
      "/": "text/html; charset=utf-8",
      "/ui/dashboard.js": "text/javascript; charset=utf-8",
      "/ui/dashboard.css": "text/css; charset=utf-8",
    };
    for (const [path, type] of Object.entries(types)) {
      const first = await call("GET", path, undefined, { token: null });
      expect(first.headers.get("content-type"), path).toBe(type);
      const etag = first.headers.get("etag");
      expect(etag, path).toMatch(/^"[0-9a-f]{16}"$/);
      const again = await call("GET", path, undefined, { token: null, headers: { "if-none-match": etag! } });
      expect(again.status, path).toBe(304);
      expect(again.headers.get("content-security-policy"), path).toBe(first.headers.get("content-security-policy"));
      const changed = await call("GET", path, undefined, { token: null, headers: { "if-none-match": '"0000000000000000"' } });
      expect(changed.status, path).toBe(200);
    }
  });

  it("answer 404 for a file that is not there, and keep the API behind its key", async () => {
    expect((await call("GET", "/ui/nope.js", undefined, { token: null })).status).toBe(404);
    expect((await call("GET", "/v1/topics", undefined, { token: null })).status).toBe(401);
  });
});
