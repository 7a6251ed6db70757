/**
 * The partition of a keyed message: FNV-1a (32-bit) over the key's UTF-8 bytes, modulo the
 * topic's partition count. Documented in docs/api.md so that any client can compute it.
 */
export function partitionForKey(key: string, partitions: number): number {
  return partitions === 1 ? 0 : fnv1a32(key) % partitions;
}

const encoder = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = encoder.encode(text);
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
