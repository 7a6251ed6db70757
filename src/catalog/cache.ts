import { systemClock, type Clock } from "../shared/clock";

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A per-isolate read cache: each value is trusted for its time to live, then read again. At most
 * `max` entries; past that the least recently used goes (never the whole cache, so that a stream
 * of unknown names cannot flush what the live traffic uses).
 */
export class TtlCache<K, V> {
  // A Map keeps insertion order: a hit is moved to the end, so the first key is the least recent.
  private readonly entries = new Map<K, Entry<V>>();

  constructor(
    private readonly max: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * The cached value of `key`, or `load()`'s, kept for `ttlMs(value)` milliseconds (a
   * function, so that a miss can be trusted for less time than a hit).
   */
  async get(key: K, load: () => Promise<V>, ttlMs: (value: V) => number): Promise<V> {
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = await load();
    this.entries.delete(key);
    while (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: now + ttlMs(value) });
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Forgets every key that `matches`. */
  deleteWhere(matches: (key: K) => boolean): void {
    for (const key of [...this.entries.keys()]) if (matches(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
