/**
 * A map kept for the life of an isolate that forgets everything once it would hold more than
 * `capacity` entries: for caches and hints whose loss costs only work done again (a key imported
 * again, a call a hint would have saved), never a wrong answer. Clearing all at once keeps it
 * O(1) and bounded, whatever the keys an isolate sees.
 */
export class IsolateMemo<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.capacity && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** The value of `key`, made by `make` and kept when it was not there. */
  getOrMake(key: K, make: () => V): V {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = make();
      this.set(key, value);
    }
    return value;
  }
}
