import { DEDUP_MEMORY_IDS } from "../shared/limits";

// The dedup index (docs/storage.md, "dedup"): a 53-bit hash of every dedup key appended within
// the dedup window → its offset, in memory. It is a cache of what `segments.keys` holds
// durably, rebuilt from them (rows read, none written) the first time an append needs it after
// the object starts. Past DEDUP_MEMORY_IDS ids, a segment's ids go to the dedup_spill table
// instead (a row per id): the answer stays exact and only the cost rises. A hash hit is
// confirmed by the caller against the message itself, so a collision never drops a message.

interface IndexedSegment {
  first: number;
  appendedAt: number;
  /** Surge copies are deduplicated for as long as they are held, not for a window. */
  copies: boolean;
  /** The hash of each message's key held in memory (NaN: none), by offset - first: 8 bytes a message. */
  hashes: Float64Array | null;
  spilled: boolean;
}

export interface DedupSource {
  /** Segments with keys appended at or after `since`, or holding surge copies, oldest first. */
  load(since: number): { first: number; keys: (string | null)[]; spilled: boolean; appendedAt: number }[];
  spillFind(hash: number): number[];
  /** Offsets of `key` in segments appended in [from, to): a scan, for a window older than the index's. */
  older(key: string, from: number, to: number): number[];
}

export class DedupIndex {
  private readonly offsets = new Map<number, number | number[]>();
  private segments: IndexedSegment[] = [];
  private size = 0;
  private spilled = 0;
  private loadedSince: number | null = null;

  constructor(
    private readonly source: DedupSource,
    private readonly capacity: number = DEDUP_MEMORY_IDS,
  ) {}

  reset(): void {
    this.offsets.clear();
    this.segments = [];
    this.size = 0;
    this.spilled = 0;
    this.loadedSince = null;
  }

  /**
   * Offsets that may hold `key` among the keys appended since `since` (and the surge copies):
   * the caller checks each. The first call loads the index; later calls forget what the window
   * has passed. A window older than the index (a transaction prepared long ago) is looked up
   * in SQL for the older part.
   */
  candidates(key: string, since: number): number[] {
    if (this.loadedSince === null) {
      for (const row of this.source.load(since)) this.index(row.first, row.keys, false, row.appendedAt, row.spilled);
      this.loadedSince = since;
    } else if (since > this.loadedSince) {
      while (this.segments.length > 0 && !this.segments[0]!.copies && this.segments[0]!.appendedAt < since) {
        this.unindex(this.segments.shift()!);
      }
      this.loadedSince = since;
    }
    const hash = hash53(key);
    const found = this.offsets.get(hash);
    const offsets = found === undefined ? [] : typeof found === "number" ? [found] : [...found];
    if (since < this.loadedSince) offsets.push(...this.source.older(key, since, this.loadedSince));
    if (this.spilled > 0) offsets.push(...this.source.spillFind(hash));
    return offsets;
  }

  /**
   * Indexes the keys of a segment just written at `first`. Returns true when they went to the
   * spill table (through `spill`) because memory holds DEDUP_MEMORY_IDS ids already.
   */
  add(first: number, keys: readonly (string | null)[], copies: boolean, now: number, spill: (hash: number, offset: number) => void): boolean {
    if (this.loadedSince === null) return false; // not loaded yet: the load will read this segment
    const present = keys.filter((k) => k !== null).length;
    const spilled = this.size + present > this.capacity;
    if (spilled) keys.forEach((k, i) => k !== null && spill(hash53(k), first + i));
    this.index(first, keys, copies, now, spilled);
    return spilled;
  }

  private index(first: number, keys: readonly (string | null)[], copies: boolean, appendedAt: number, spilled: boolean): void {
    const segment: IndexedSegment = { first, appendedAt, copies: copies || keys.some((k) => k?.startsWith("mv:")), hashes: null, spilled };
    if (spilled) this.spilled++;
    else {
      const hashes = (segment.hashes = new Float64Array(keys.length).fill(Number.NaN));
      keys.forEach((key, i) => {
        if (key === null) return;
        const hash = hash53(key);
        const offset = first + i;
        hashes[i] = hash;
        const known = this.offsets.get(hash);
        this.offsets.set(hash, known === undefined ? offset : typeof known === "number" ? [known, offset] : [...known, offset]);
        this.size++;
      });
    }
    this.segments.push(segment);
  }

  private unindex(segment: IndexedSegment): void {
    if (segment.spilled) this.spilled--;
    segment.hashes?.forEach((hash, i) => {
      if (!Number.isNaN(hash)) this.removeOffset(hash, segment.first + i);
    });
  }

  /** A cancelled message's key is free again. */
  remove(key: string, offset: number): void {
    this.removeOffset(hash53(key), offset);
  }

  private removeOffset(hash: number, offset: number): void {
    const known = this.offsets.get(hash);
    if (known === undefined) return;
    const list = typeof known === "number" ? [known] : known;
    const rest = list.filter((o) => o !== offset);
    if (rest.length === list.length) return;
    this.size--;
    if (rest.length === 0) this.offsets.delete(hash);
    else this.offsets.set(hash, rest.length === 1 ? rest[0]! : rest);
  }

  /** Retention deleted the segment at `first`. */
  dropSegment(first: number): void {
    const k = this.segments.findIndex((s) => s.first === first);
    if (k >= 0) this.unindex(this.segments.splice(k, 1)[0]!);
  }
}

/** A 53-bit hash of a string (two 32-bit multiplicative hashes), exact as a JS number. */
export function hash53(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x27d4eb2f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x85ebca77);
  }
  a = Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) >>> 0;
  b = Math.imul(b ^ (b >>> 13), 0x297a2d39) >>> 0;
  return (b & 0x1fffff) * 0x100000000 + a;
}
