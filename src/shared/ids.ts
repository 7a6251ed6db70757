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

/** `length` random base32 characters (5 bits each). */
export function randomToken(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}
