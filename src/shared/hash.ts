/**
 * The partition of a keyed message: FNV-1a (32-bit) over the key's UTF-8 bytes, modulo the
 * topic's partition count. Documented in docs/api.md so that any client can compute it.
 */
export function partitionForKey(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
