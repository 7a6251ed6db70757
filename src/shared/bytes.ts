const NON_ASCII = /[^\x00-\x7f]/;

/** UTF-8 length of `text`, without encoding it: its length when all of it is ASCII (a native scan). */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * A message's stored size in UTF-8 bytes: its body, headers, key and id as stored. Backlog
 * limits (max_bytes), stats and byte budgets all count this. A message that carries it
 * (`bytes`, measured once where it was made) is not measured again; `bodyBytes`: the body's
 * size, when the caller has it.
 */
export function storedMessageBytes(
  m: { body: string; headers: string | null; key: string | null; id: string; bytes?: number },
  bodyBytes?: number,
): number {
  if (m.bytes !== undefined) return m.bytes;
  return (bodyBytes ?? utf8Length(m.body)) + (m.headers === null ? 0 : utf8Length(m.headers)) + (m.key === null ? 0 : utf8Length(m.key)) + utf8Length(m.id);
}

/**
 * Reads a body to its end, or stops (and cancels it) once it passes `maxBytes`: the answer is
 * then null. Never holds more than `maxBytes` (plus one chunk) in memory.
 */
export async function readBounded(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

/** Room for what a dead letter adds to a message: its headers and its key. */
const DEAD_LETTER_ALLOWANCE_BYTES = 4096;

/**
 * The largest row a message can take in a partition's SQLite: its dead letter in the outbox,
 * which stores the message as JSON (body and headers escaped once more) with the dead-letter
 * headers. A message over MAX_STORED_MESSAGE_BYTES by this measure is refused on produce.
 */
export function largestStoredRowBytes(m: { body: string; headers: string | null; key: string | null; id: string }): number {
  return utf8Length(JSON.stringify([m.id, m.key, m.headers, m.body])) + DEAD_LETTER_ALLOWANCE_BYTES;
}

/**
 * Whether a message of `storedBytes` (storedMessageBytes) could take a row over `limit` by
 * largestStoredRowBytes: escaping writes at most 6 bytes for one (a control character as
 * \u00XX), so below a sixth of the limit it cannot, and the exact measure is not needed.
 */
export function mayPassRowLimit(storedBytes: number, limit: number): boolean {
  return storedBytes * 6 + 64 + DEAD_LETTER_ALLOWANCE_BYTES > limit;
}
