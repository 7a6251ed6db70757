import { DEDUP_BLOCK_IDS, DEDUP_MEMORY_IDS } from "../shared/limits";

// The dedup index (docs/storage.md, "dedup"): which offsets may hold a dedup key appended
// within the dedup window. The caller confirms each against the message itself, so a false
// candidate costs a read and never drops a message; a key the index does not name was not
// appended in the window. Two tiers:
//   - the newest keys, up to DEDUP_MEMORY_IDS: a map of a 53-bit hash of the key → offset;
//   - older ones, in blocks of DEDUP_BLOCK_IDS keys: a Bloom filter per block (20 bits a key,
//     7 in 100,000 false positives), written once as a row of dedup_blocks when the block is made. A
//     block that may hold the key names the range of segments to look in (SQL over their
//     `keys` column).
// Nothing is written per key: the keys are durable in the segments already, the map is rebuilt
// from them and the blocks are read back when the object starts.

interface IndexedSegment {
  first: number;
  last: number;
  appendedAt: number;
  /** Surge copies are deduplicated for as long as they are held, not for a window. */
  copies: boolean;
  /** The hash of each message's key (NaN: none), by offset - first: 8 bytes a message. */
  hashes: Float64Array;
}

/** Older keys, summed up: a Bloom filter over their hashes and the offsets they lie in. */
export interface DedupBlock {
  first: number;
  last: number;
  /** The newest append among them: the block leaves the window after it. */
  appendedTo: number;
  copies: boolean;
  bits: Uint32Array;
}

export interface DedupSource {
  /** Segments with keys after offset `after`, appended at or after `since` or holding surge copies, oldest first. */
  load(since: number, after: number): { first: number; last: number; keys: (string | null)[]; appendedAt: number; copies: boolean }[];
  /** The blocks still in the window (or holding surge copies), oldest first. */
  loadBlocks(since: number): DedupBlock[];
  saveBlock(block: DedupBlock): void;
  /** Offsets of `key` in the segments whose first offset lies in [from, to]. */
  inRange(key: string, from: number, to: number): number[];
  /** Offsets of `key` in segments appended in [from, to): a scan, for a window older than the index's. */
  older(key: string, from: number, to: number): number[];
}

export class DedupIndex {
  private readonly offsets = new Map<number, number | number[]>();
  private segments: IndexedSegment[] = [];
  private blocks: DedupBlock[] = [];
  private size = 0;
  private loadedSince: number | null = null;

  constructor(
    private readonly source: DedupSource,
    private readonly capacity: number = DEDUP_MEMORY_IDS,
    private readonly blockIds: number = DEDUP_BLOCK_IDS,
  ) {}

  reset(): void {
    this.offsets.clear();
    this.segments = [];
    this.blocks = [];
    this.size = 0;
    this.loadedSince = null;
  }

  /**
   * Offsets that may hold `key` among the keys appended since `since` (and the surge copies):
   * the caller checks each. The first call loads the index; later calls forget what the window
   * has passed. A window older than the index (a transaction prepared long ago) is looked up
   * in SQL for the older part.
   */
  candidates(key: string, since: number): number[] {
    this.prepare(since);
    const hash = hash53(key);
    const found = this.offsets.get(hash);
    const offsets = found === undefined ? [] : typeof found === "number" ? [found] : [...found];
    for (const block of this.blocks) {
      if (mayHold(block.bits, hash)) offsets.push(...this.source.inRange(key, block.first, block.last));
    }
    if (since < this.loadedSince!) offsets.push(...this.source.older(key, since, this.loadedSince!));
    return offsets;
  }

  private prepare(since: number): void {
    if (this.loadedSince === null) {
      this.blocks = this.source.loadBlocks(since);
      const after = this.blocks.at(-1)?.last ?? -1;
      for (const row of this.source.load(since, after)) this.index(row.first, row.last, row.keys, row.copies, row.appendedAt);
      this.loadedSince = since;
      return;
    }
    if (since <= this.loadedSince) return;
    while (this.segments.length > 0 && !this.segments[0]!.copies && this.segments[0]!.appendedAt < since) {
      this.unindex(this.segments.shift()!);
    }
    this.blocks = this.blocks.filter((b) => b.copies || b.appendedTo >= since);
    this.loadedSince = since;
  }

  /** Indexes the keys of a segment just written; past the memory cap, the oldest become a block. */
  add(first: number, last: number, keys: readonly (string | null)[], copies: boolean, now: number): void {
    if (this.loadedSince === null) return; // not loaded yet: the load will read this segment
    this.index(first, last, keys, copies, now);
    while (this.size > this.capacity && this.segments.length > 1) this.makeBlock();
  }

  private index(first: number, last: number, keys: readonly (string | null)[], copies: boolean, appendedAt: number): void {
    const hashes = new Float64Array(keys.length).fill(Number.NaN);
    const segment: IndexedSegment = { first, last, appendedAt, copies, hashes };
    keys.forEach((key, i) => {
      if (key === null) return;
      const hash = hash53(key);
      hashes[i] = hash;
      const offset = first + i;
      const known = this.offsets.get(hash);
      this.offsets.set(hash, known === undefined ? offset : typeof known === "number" ? [known, offset] : [...known, offset]);
      this.size++;
    });
    this.segments.push(segment);
  }

  /** Moves the oldest segments' keys (about DEDUP_BLOCK_IDS of them) from the map into a new, saved block. */
  private makeBlock(): void {
    const taken: IndexedSegment[] = [];
    let count = 0;
    while (this.segments.length > 1 && count < this.blockIds) {
      const segment = this.segments.shift()!;
      taken.push(segment);
      count += segment.hashes.reduce((n, h) => (Number.isNaN(h) ? n : n + 1), 0);
    }
    const bits = new Uint32Array(Math.ceil((Math.max(count, 1) * BITS_PER_KEY) / 32));
    for (const segment of taken) {
      segment.hashes.forEach((hash) => {
        if (!Number.isNaN(hash)) addTo(bits, hash);
      });
      this.unindex(segment);
    }
    const block: DedupBlock = {
      first: taken[0]!.first,
      last: taken.at(-1)!.last,
      appendedTo: Math.max(...taken.map((s) => s.appendedAt)),
      copies: taken.some((s) => s.copies),
      bits,
    };
    this.source.saveBlock(block);
    this.blocks.push(block);
  }

  private unindex(segment: IndexedSegment): void {
    segment.hashes.forEach((hash, i) => {
      if (!Number.isNaN(hash)) this.removeOffset(hash, segment.first + i);
    });
  }

  /** A cancelled message's key is free again (a block still names it: the caller's check refuses it). */
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

  /** Retention deleted every message before `offset`: blocks wholly before it go. */
  dropBlocksBefore(offset: number): void {
    this.blocks = this.blocks.filter((b) => b.last >= offset);
  }
}

/**
 * Bits a key takes in a block's Bloom filter, and the probes per key: about 7 false positives in
 * 100,000 per block. Low, because a lookup tests every block in the window (a day at 100
 * messages a second is 527 blocks: 0.035 false positives a lookup, each a confirming query).
 */
const BITS_PER_KEY = 20;
const PROBES = 14;

function probe(bits: Uint32Array, hash: number, visit: (word: number, mask: number) => boolean): boolean {
  const size = bits.length * 32;
  // Double hashing from the two halves of the 53-bit hash.
  const h1 = hash % 0x100000000;
  const h2 = (Math.floor(hash / 0x100000000) * 0x9e3779b1 + (h1 >>> 16)) | 1;
  for (let i = 0; i < PROBES; i++) {
    const bit = (((h1 + Math.imul(i, h2)) >>> 0) % size) >>> 0;
    if (!visit(bit >>> 5, 1 << (bit & 31))) return false;
  }
  return true;
}

function addTo(bits: Uint32Array, hash: number): void {
  probe(bits, hash, (word, mask) => {
    bits[word] = (bits[word] ?? 0) | mask;
    return true;
  });
}

function mayHold(bits: Uint32Array, hash: number): boolean {
  return probe(bits, hash, (word, mask) => (bits[word]! & mask) !== 0);
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
