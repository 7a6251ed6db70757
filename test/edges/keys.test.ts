import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyStore, newKeyCache } from "../../src/catalog/keys";
import { hex, sha256 } from "../../src/shared/encoding";
import { randomToken } from "../../src/shared/ids";
import { call } from "../helpers";

/** A D1 binding that counts the statements run through it. */
function countingCatalog(): { db: D1Database; reads: () => number } {
  let n = 0;
  const db = new Proxy(env.CATALOG, {
    get(target, property) {
      if (property === "prepare") {
        return (query: string) => {
          n++;
          return target.prepare(query);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db, reads: () => n };
}

const secret = () => "A".repeat(43);

describe("API key ids (edges F-8)", () => {
  it("minted now carry a MAC, and keys minted before MACs existed still work", async () => {
    const id = randomToken(16);
    const legacySecret = "B".repeat(43);
    await env.CATALOG.prepare(
      "INSERT INTO api_keys (id, name, secret_sha256, scopes, created_at, id_mac) VALUES (?, 'old', ?, '[\"admin\"]', 0, 0)",
    )
      .bind(id, hex(await sha256(legacySecret)))
      .run();
    // First in this file: this isolate has not cached the pre-MAC list yet.
    const store = new KeyStore(env.CATALOG, newKeyCache());
    expect(await store.verify(`wk_${id}_${legacySecret}`)).toMatchObject({ id, name: "old" });
    const created = await call("POST", "/v1/keys", { name: "new", scopes: ["admin"] });
    expect((await call("GET", "/v1/topics", undefined, { token: created.body.secret })).status).toBe(200);
  });

  it("refuse a flood of ids the server did not mint with no catalog read each", async () => {
    const { db, reads } = countingCatalog();
    const store = new KeyStore(db, newKeyCache());
    await store.verify(`wk_${randomToken(16)}_${secret()}`); // loads the MAC secret and the pre-MAC list once
    const before = reads();
    for (let i = 0; i < 200; i++) expect(await store.verify(`wk_${randomToken(16)}_${secret()}`)).toBeNull();
    expect(reads() - before).toBe(0);
  });

  it("answer 401 to such a token, as to any unknown key", async () => {
    const r = await call("GET", "/v1/topics", undefined, { token: `wk_${randomToken(16)}_${secret()}` });
    expect(r.status).toBe(401);
  });

});
