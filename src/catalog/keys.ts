import type { Clock } from "../shared/clock";
import { KEY_CACHE_TTL_MS, MAX_CACHED_CATALOG_ENTRIES, UNKNOWN_KEY_CACHE_TTL_MS } from "../shared/limits";
import { TtlCache } from "./cache";
import { base64url, fromHex, hex, sha256 } from "../shared/encoding";
import { mintKeyId, plausibleKeyId } from "./key-ids";
import { formatScope, parseScope, type Scope } from "../shared/scopes";

/** Requests per second a key may make; null: unlimited. */
export interface RateLimit {
  producePerSecond: number | null;
  receivePerSecond: number | null;
}

export interface KeyRecord {
  /** Public: shown in lists, part of the token, names the key in DELETE /v1/keys/{id}. */
  id: string;
  name: string;
  scopes: Scope[];
  rateLimit: RateLimit;
  createdAt: number;
}

interface StoredKey extends KeyRecord {
  secretSha256: string;
}

// A token is `wk_<id>_<secret>`: the id finds the row, the secret (32 random bytes, 256 bits,
// base64url) proves the holder. Only the SHA-256 of the secret is stored.
const TOKEN_PREFIX = "wk_";
const TOKEN = /^wk_([0-9A-Z]{16})_([A-Za-z0-9_-]{43})$/;
const KEY_ID = /^[0-9A-Z]{16}$/;
const SECRET_BYTES = 32;

/** Whether `token` has the shape of an API key (rather than the ADMIN_TOKEN). */
export function looksLikeKey(token: string): boolean {
  return token.startsWith(TOKEN_PREFIX);
}

/**
 * Per isolate, what a key id was found to be, for KEY_CACHE_TTL_MS (an unknown id for
 * UNKNOWN_KEY_CACHE_TTL_MS). So a key revoked through another isolate stops working here within
 * KEY_CACHE_TTL_MS; a key revoked through this isolate stops at once.
 */
export type KeyCache = TtlCache<string, StoredKey | null>;

export function newKeyCache(clock?: Clock): KeyCache {
  return new TtlCache<string, StoredKey | null>(MAX_CACHED_CATALOG_ENTRIES, clock);
}

const keyTtlMs = (key: StoredKey | null) => (key ? KEY_CACHE_TTL_MS : UNKNOWN_KEY_CACHE_TTL_MS);

const isolateCache = newKeyCache();

/** API keys in D1. Secrets are hashed before they are stored and compared in constant time. */
export class KeyStore {
  constructor(
    private readonly db: D1Database,
    private readonly cache: KeyCache = isolateCache,
  ) {}

  /** Makes a key; the answer's `token` is the only time its secret exists outside the caller. */
  async create(name: string, scopes: Scope[], rateLimit: RateLimit): Promise<{ key: KeyRecord; token: string }> {
    const id = await mintKeyId(this.db);
    const secret = base64url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
    const key: KeyRecord = { id, name, scopes, rateLimit, createdAt: Date.now() };
    await this.db
      .prepare(
        `INSERT INTO api_keys (id, name, secret_sha256, scopes, produce_per_second, receive_per_second, created_at, id_mac)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
      )
      .bind(
        id,
        name,
        hex(await sha256(secret)),
        JSON.stringify(scopes.map(formatScope)),
        rateLimit.producePerSecond,
        rateLimit.receivePerSecond,
        key.createdAt,
      )
      .run();
    this.cache.delete(id);
    return { key, token: `${TOKEN_PREFIX}${id}_${secret}` };
  }

  async list(): Promise<KeyRecord[]> {
    const { results } = await this.db.prepare("SELECT * FROM api_keys ORDER BY created_at, id").all<Row>();
    return results.map((row) => publicRecord(keyFromRow(row)));
  }

  /** Revokes the key; false when there is none with this id. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.prepare("DELETE FROM api_keys WHERE id = ?").bind(id).run();
    this.cache.delete(id);
    return result.meta.changes > 0;
  }

  /** The key that `token` proves, or null for a token of no (longer) existing key. */
  async verify(token: string): Promise<KeyRecord | null> {
    const match = TOKEN.exec(token);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const stored = await this.stored(id);
    // Hash even for an unknown id, so that both answers take the same work.
    const given = await sha256(secret);
    const expected = (stored && fromHex(stored.secretSha256)) || new Uint8Array(given.byteLength);
    const same = crypto.subtle.timingSafeEqual(given, expected);
    return stored && same ? publicRecord(stored) : null;
  }

  /**
   * The key with this id, or null: for a caller that proves the key another way (an SQS
   * request's signature, with a secret derived from the id; src/sqs).
   */
  async byId(id: string): Promise<KeyRecord | null> {
    if (!KEY_ID.test(id)) return null;
    const stored = await this.stored(id);
    return stored && publicRecord(stored);
  }

  private async stored(id: string): Promise<StoredKey | null> {
    // An id this deployment did not mint costs no catalog read (key-ids.ts).
    if (!(await plausibleKeyId(this.db, id))) return null;
    return this.cache.get(
      id,
      async () => {
        const row = await this.db.prepare("SELECT * FROM api_keys WHERE id = ?").bind(id).first<Row>();
        return row ? keyFromRow(row) : null;
      },
      keyTtlMs,
    );
  }
}

type Row = Record<string, unknown>;

function keyFromRow(row: Row): StoredKey {
  const scopes = (JSON.parse(row.scopes as string) as string[]).flatMap((text) => {
    const scope = parseScope(text);
    // A scope stored by an older version that this one no longer understands grants nothing.
    return "problem" in scope ? [] : [scope];
  });
  return {
    id: row.id as string,
    name: row.name as string,
    secretSha256: row.secret_sha256 as string,
    scopes,
    rateLimit: {
      producePerSecond: (row.produce_per_second as number | null) ?? null,
      receivePerSecond: (row.receive_per_second as number | null) ?? null,
    },
    createdAt: row.created_at as number,
  };
}

function publicRecord({ secretSha256: _, ...key }: StoredKey): KeyRecord {
  return key;
}
