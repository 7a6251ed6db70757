// Crockford base32: sortable as text, no ambiguous letters.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A message id that sorts by creation time: 10 characters of milliseconds since the epoch,
 * then 16 random characters (80 bits), like a ULID.
 */
export function sortableId(nowMs: number = Date.now()): string {
  let time = "";
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + randomToken(16);
}

// Random bytes are drawn from the CSPRNG a few KiB at a time: a batch of 100 messages then
// costs one call into the runtime for its ids, not 100.
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

/** `length` random base32 characters (5 bits each). */
export function randomToken(length: number): string {
  if (used + length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(Math.max(POOL_BYTES, length)));
    used = 0;
  }
  let out = "";
  for (let i = used; i < used + length; i++) out += ALPHABET[pool[i]! & 31];
  used += length;
  return out;
}

// Dedup keys Weir makes itself: a dead letter's (`dl:`, which a redrive trusts to name the
// message it came from) and a surge copy's (`mv:`). A producer id may not start with them, or a
// producer could forge a dead letter that a redrive would "restore".
const RESERVED_ID_PREFIXES = ["dl:", "mv:"] as const;

/** Why a producer may not use `id`, or null if it may. */
export function reservedIdProblem(id: string): string | null {
  const prefix = RESERVED_ID_PREFIXES.find((p) => id.startsWith(p));
  return prefix ? `must not start with "${prefix}" (reserved for ids Weir makes)` : null;
}
