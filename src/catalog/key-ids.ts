// Key ids that prove the server minted them: 12 random characters and a 4-character MAC of
// them (HMAC-SHA256 under a random secret of this deployment, kept in the catalog). A token
// whose id fails the MAC is refused from memory, so anonymous callers cost no catalog read;
// keys minted before MACs existed (id_mac = 0) are still known, from a small cached list.
import { randomToken } from "../shared/ids";
import { base64url } from "../shared/encoding";
import { KEY_CACHE_TTL_MS } from "../shared/limits";
import { TtlCache } from "./cache";

const RANDOM_LENGTH = 12;
const MAC_LENGTH = 4;
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SECRET_NAME = "key_id_mac";

// Per isolate: the MAC key (read once; it never changes) and the ids minted without a MAC.
let macKey: Promise<CryptoKey> | null = null;
const legacyIds = new TtlCache<"all", ReadonlySet<string>>(1);

async function loadMacKey(db: D1Database): Promise<CryptoKey> {
  let row = await db.prepare("SELECT value FROM server_secrets WHERE name = ?").bind(SECRET_NAME).first<{ value: string }>();
  if (!row) {
    const fresh = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await db.prepare("INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?, ?)").bind(SECRET_NAME, fresh).run();
    row = await db.prepare("SELECT value FROM server_secrets WHERE name = ?").bind(SECRET_NAME).first<{ value: string }>();
  }
  const secret = new TextEncoder().encode(row!.value);
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

function key(db: D1Database): Promise<CryptoKey> {
  macKey ??= loadMacKey(db).catch((error: unknown) => {
    macKey = null;
    throw error;
  });
  return macKey;
}

async function mac(db: D1Database, random: string): Promise<string> {
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", await key(db), new TextEncoder().encode(random)));
  let out = "";
  for (let i = 0; i < MAC_LENGTH; i++) out += ALPHABET[signature[i]! & 31];
  return out;
}

/** A new key id: RANDOM_LENGTH random characters and their MAC (16 in all, as ids always were). */
export async function mintKeyId(db: D1Database): Promise<string> {
  const random = randomToken(RANDOM_LENGTH);
  return random + (await mac(db, random));
}

/**
 * Whether `id` can be a key of this deployment: its MAC holds, or it is one of the keys minted
 * before MACs. False means: refuse without looking it up.
 */
export async function plausibleKeyId(db: D1Database, id: string): Promise<boolean> {
  const random = id.slice(0, RANDOM_LENGTH);
  if ((await mac(db, random)) === id.slice(RANDOM_LENGTH)) return true;
  const legacy = await legacyIds.get(
    "all",
    async () => {
      const { results } = await db.prepare("SELECT id FROM api_keys WHERE id_mac = 0").all<{ id: string }>();
      return new Set(results.map((r) => r.id));
    },
    () => KEY_CACHE_TTL_MS,
  );
  return legacy.has(id);
}
