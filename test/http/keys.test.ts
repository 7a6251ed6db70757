import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyStore, newKeyCache } from "../../src/catalog/keys";
import { hex, sha256 } from "../../src/shared/encoding";
import { KEY_CACHE_TTL_MS, UNKNOWN_KEY_CACHE_TTL_MS } from "../../src/shared/limits";
import { call, createTopic } from "../helpers";
import { createKey } from "../security/keys";

describe("API keys", () => {
  it("creates a key whose secret works at once and carries at least 128 random bits", async () => {
    const topic = await createTopic();
    const key = await createKey([`produce:${topic}`], { name: "orders producer" });
    expect(key).toMatchObject({ name: "orders producer", scopes: [`produce:${topic}`], rate_limit: { produce_per_second: null, receive_per_second: null } });
    // wk_<16 id characters>_<43 base64url characters: 256 bits>
    expect(key.secret).toMatch(/^wk_[0-9A-Z]{16}_[A-Za-z0-9_-]{43}$/);
    expect(key.secret).toContain(key.id);
    const r = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ body: 1 }] }, { token: key.secret });
    expect(r.status).toBe(200);
    expect((await createKey(["admin"])).secret).not.toBe(key.secret);
  });

  it("shows the secret only once: the list has no secret, and the catalog only its SHA-256", async () => {
    const key = await createKey(["consume:orders.*"]);
    const list = await call("GET", "/v1/keys");
    const listed = list.body.keys.find((k: { id: string }) => k.id === key.id);
    expect(listed).toEqual({ id: key.id, name: key.name, scopes: key.scopes, rate_limit: key.rate_limit, created_at: key.created_at });
    expect(JSON.stringify(list.body)).not.toContain(key.secret.slice(20));
    const row = await env.CATALOG.prepare("SELECT * FROM api_keys WHERE id = ?").bind(key.id).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(key.secret.slice(20));
    expect(row!.secret_sha256).toBe(hex(await sha256(key.secret.slice(20))));
  });

  it("refuses a revoked key at once", async () => {
    const key = await createKey(["admin"]);
    expect((await call("GET", "/v1/topics", undefined, { token: key.secret })).status).toBe(200);
    expect((await call("DELETE", `/v1/keys/${key.id}`)).status).toBe(204);
    const r = await call("GET", "/v1/topics", undefined, { token: key.secret });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
    const again = await call("DELETE", `/v1/keys/${key.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("key_not_found");
  });

  it("refuses a key with the right id and a wrong secret", async () => {
    const key = await createKey(["admin"]);
    const last = key.secret.at(-1) === "A" ? "B" : "A";
    const r = await call("GET", "/v1/topics", undefined, { token: key.secret.slice(0, -1) + last });
    expect(r.status).toBe(401);
  });

  it("lets an admin key create and revoke keys", async () => {
    const admin = await createKey(["admin"]);
    const made = await call("POST", "/v1/keys", { name: "made by a key", scopes: ["consume:**"] }, { token: admin.secret });
    expect(made.status).toBe(201);
    expect((await call("DELETE", `/v1/keys/${made.body.id}`, undefined, { token: admin.secret })).status).toBe(204);
  });

  it.each([
    [{ name: "k", scopes: ["produce:ord*"] }, "scopes[0]"],
    [{ name: "k", scopes: ["consume:a", "root"] }, "scopes[1]"],
    [{ name: "k", scopes: [] }, "scopes"],
    [{ name: "k", scopes: Array.from({ length: 33 }, (_, i) => `consume:t${i}`) }, "scopes"],
    [{ name: "", scopes: ["admin"] }, "name"],
    [{ name: "x".repeat(129), scopes: ["admin"] }, "name"],
    [{ name: "a\nb", scopes: ["admin"] }, "name"],
    [{ name: "k", scopes: ["admin"], rate_limit: { produce_per_second: 0 } }, "rate_limit.produce_per_second"],
    [{ name: "k", scopes: ["admin"], rate_limit: { receive_per_second: 1.5 } }, "rate_limit.receive_per_second"],
    [{ name: "k", scopes: ["admin"], secret: "mine" }, "secret"],
  ])("refuses %j, naming %s, and makes no key", async (body, field) => {
    const before = await env.CATALOG.prepare("SELECT COUNT(*) AS n FROM api_keys").first<{ n: number }>();
    const r = await call("POST", "/v1/keys", body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toContain(field);
    const after = await env.CATALOG.prepare("SELECT COUNT(*) AS n FROM api_keys").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it("refuses a key id that is not one", async () => {
    const r = await call("DELETE", "/v1/keys/not-an-id");
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("id");
  });
});

describe("the key cache of an isolate", () => {
  it(`trusts a key revoked elsewhere for at most ${KEY_CACHE_TTL_MS} ms`, async () => {
    let now = 1_000_000;
    const store = new KeyStore(env.CATALOG, newKeyCache({ now: () => now }));
    const { key, token } = await store.create("cached", [{ kind: "admin" }], { producePerSecond: null, receivePerSecond: null });
    expect(await store.verify(token)).toMatchObject({ id: key.id });
    // Another isolate revokes it: the row goes, this cache does not hear of it.
    await env.CATALOG.prepare("DELETE FROM api_keys WHERE id = ?").bind(key.id).run();
    now += KEY_CACHE_TTL_MS - 1;
    expect(await store.verify(token)).not.toBeNull();
    now += 1;
    expect(await store.verify(token)).toBeNull();
  });

  it(`remembers an unknown key for ${UNKNOWN_KEY_CACHE_TTL_MS} ms, so a new key works soon everywhere`, async () => {
    let now = 1_000_000;
    const cache = newKeyCache({ now: () => now });
    const elsewhere = new KeyStore(env.CATALOG, newKeyCache());
    const here = new KeyStore(env.CATALOG, cache);
    const { token } = await elsewhere.create("new", [{ kind: "admin" }], { producePerSecond: null, receivePerSecond: null });
    const id = token.slice(3, 19);
    await cache.get(id, async () => null, () => UNKNOWN_KEY_CACHE_TTL_MS); // this isolate looked before the key existed
    expect(await here.verify(token)).toBeNull();
    now += UNKNOWN_KEY_CACHE_TTL_MS;
    expect(await here.verify(token)).not.toBeNull();
  });
});
