import type { StoredMessageFields } from "../shared/partition-api";
import { BIG_MESSAGE_BYTES, SEGMENT_BYTES, SEGMENT_CACHE_BYTES } from "../shared/limits";
import { DedupIndex } from "./dedup";

// The partition's messages, kept as segments (docs/storage.md, "The segment model"): one row
// per produce batch (cut at SEGMENT_BYTES), never updated, deleted whole by retention. A
// message is addressed by its offset: the segment whose [first, last] holds it, at index
// offset - first. What happens to a message later (cancelled, redriven) is a row of `marks`.

/** A message as the log keeps it. Times are ms since the epoch; 0 means "none". */
export interface StoredMessage extends StoredMessageFields {
  deliverAt: number;
  expiresAt: number;
  dedupKey: string | null;
  bytes: number;
}

export type Mark = "cancelled" | "redriven";

// A segment's messages are a JSON array of tuples in this order. A message of more than
// BIG_MESSAGE_BYTES has a segment of its own, whose body and headers are kept raw in their own
// columns (tuple slots null): escaping them inside JSON could take the row past SQLite's 2 MB.
type Tuple = [
  id: string,
  key: string | null,
  headers: string | null,
  body: string | null,
  priority: number,
  producedAt: number,
  deliverAt: number,
  expiresAt: number,
  dedupKey: string | null,
  bytes: number,
  originPartition: number | null,
  originOffset: number | null,
];

type SegmentRow = { first: number; last: number; messages: string; body: string | null; headers: string | null };

const SEGMENT_SQL = {
  insert: `
    INSERT INTO segments (first, last, appended_at, produced_to, bytes, cum_bytes, min_expires_at, keys, copies, messages, body, headers)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  newest: "SELECT last, cum_bytes FROM segments ORDER BY first DESC LIMIT 1",
  // The segment holding ?1 and those after it, oldest first.
  from: `
    SELECT first, last, messages, body, headers FROM segments
    WHERE first >= (SELECT COALESCE(MAX(first), 0) FROM segments WHERE first <= ?1) ORDER BY first LIMIT ?2`,
  holding: "SELECT first, last, messages, body, headers FROM segments WHERE first <= ?1 ORDER BY first DESC LIMIT 1",
  cumBytesOf: "SELECT cum_bytes - bytes AS before, first FROM segments WHERE first <= ?1 ORDER BY first DESC LIMIT 1",
  // Ids appear in the tuples as JSON strings: instr finds candidates, the caller checks exactly.
  withText: "SELECT first, last, messages, body, headers FROM segments WHERE instr(messages, ?1) > 0 ORDER BY first DESC",
  withKey: "SELECT first, last, messages, body, headers FROM segments WHERE instr(keys, ?1) > 0 ORDER BY first",
  withKeyPrefix: "SELECT first, last, messages, body, headers FROM segments WHERE last > ?1 AND instr(keys, ?2) > 0 ORDER BY first",
  keysSince: `
    SELECT first, last, keys, appended_at, copies FROM segments
    WHERE keys IS NOT NULL AND first > ?2 AND (appended_at >= ?1 OR copies = 1) ORDER BY first`,
  keysInRange: "SELECT first, keys FROM segments WHERE first >= ?1 AND first <= ?2 AND instr(keys, ?3) > 0",
  blocksSince: "SELECT first, last, appended_to, copies, bits FROM dedup_blocks WHERE appended_to >= ? OR copies = 1 ORDER BY first",
  blockInsert: "INSERT OR REPLACE INTO dedup_blocks (first, last, appended_to, copies, bits) VALUES (?, ?, ?, ?, ?)",
  blocksBefore: "DELETE FROM dedup_blocks WHERE last < ?",
  keysBetween: "SELECT first, keys FROM segments WHERE appended_at >= ?1 AND appended_at < ?2 AND instr(keys, ?3) > 0",
  oldest: "SELECT first, last, produced_to FROM segments WHERE first >= ? ORDER BY first LIMIT ?",
  delete: "DELETE FROM segments WHERE first = ?",
  firstProducedSince: "SELECT first FROM segments WHERE produced_to >= ? ORDER BY first LIMIT 1",
  stats: "SELECT COALESCE(SUM(last - first + 1), 0) AS messages, COALESCE(SUM(bytes), 0) AS bytes, MIN(first) AS first FROM segments",
  oldestFirst: "SELECT first FROM segments ORDER BY first LIMIT 1",
  marksIn: "SELECT offset, mark FROM marks WHERE offset >= ? AND offset <= ?",
  markSet: "INSERT OR REPLACE INTO marks (offset, mark) VALUES (?, ?)",
  marksDelete: "DELETE FROM marks WHERE offset >= ? AND offset <= ?",
  marksAny: "SELECT 1 FROM marks LIMIT 1",
  metaGet: "SELECT value FROM meta WHERE name = ?",
  metaSetCounters: "INSERT OR REPLACE INTO meta (name, value) VALUES ('next_offset', ?), ('cum_bytes', ?)",
} as const;

/** A parsed segment, kept in a small cache: segments never change once written. */
interface Segment {
  first: number;
  last: number;
  messages: StoredMessage[];
  bytes: number;
}

export class Segments {
  private counters: { next: number; cumBytes: number } | null = null;
  private readonly cache = new Map<number, Segment>();
  /** The cached segments' first offsets, ascending: the one holding an offset by binary search. */
  private readonly cachedFirsts: number[] = [];
  private cachedBytes = 0;
  private lastFound: Segment | null = null;
  /** Whether the marks table has a row; null: not known (read at the next marksIn). */
  private anyMarks: boolean | null = null;
  readonly dedup: DedupIndex;

  /** @param dedup the dedup index's sizes (tests make them small); DedupIndex's defaults otherwise. */
  constructor(
    private readonly sql: SqlStorage,
    dedup: { capacity?: number; blockIds?: number } = {},
  ) {
    const keysOf = (rows: { first: number; keys: string }[], key: string): number[] => {
      const offsets: number[] = [];
      for (const row of rows) (JSON.parse(row.keys) as (string | null)[]).forEach((k, i) => k === key && offsets.push(row.first + i));
      return offsets;
    };
    this.dedup = new DedupIndex({
      load: (since, after) =>
        this.sql
          .exec<{ first: number; last: number; keys: string; appended_at: number; copies: number }>(SEGMENT_SQL.keysSince, since, after)
          .toArray()
          .map((r) => ({ first: r.first, last: r.last, keys: JSON.parse(r.keys) as (string | null)[], appendedAt: r.appended_at, copies: r.copies === 1 })),
      loadBlocks: (since) =>
        this.sql
          .exec<{ first: number; last: number; appended_to: number; copies: number; bits: ArrayBuffer }>(SEGMENT_SQL.blocksSince, since)
          .toArray()
          .map((r) => ({ first: r.first, last: r.last, appendedTo: r.appended_to, copies: r.copies === 1, bits: new Uint32Array(r.bits.slice(0)) })),
      saveBlock: (b) => this.sql.exec(SEGMENT_SQL.blockInsert, b.first, b.last, b.appendedTo, b.copies ? 1 : 0, b.bits.buffer),
      inRange: (key, from, to) => keysOf(this.sql.exec<{ first: number; keys: string }>(SEGMENT_SQL.keysInRange, from, to, JSON.stringify(key)).toArray(), key),
      older: (key, from, to) => keysOf(this.sql.exec<{ first: number; keys: string }>(SEGMENT_SQL.keysBetween, from, to, JSON.stringify(key)).toArray(), key),
    }, dedup.capacity, dedup.blockIds);
  }

  /** The next offset and the bytes of everything ever appended, read once and then kept. */
  private get tail(): { next: number; cumBytes: number } {
    if (this.counters === null) {
      const newest = this.sql.exec<{ last: number; cum_bytes: number }>(SEGMENT_SQL.newest).toArray()[0];
      const meta = (name: string) => this.sql.exec<{ value: number }>(SEGMENT_SQL.metaGet, name).toArray()[0]?.value ?? 0;
      // Retention may have deleted every segment: `meta` keeps the counters it had then.
      this.counters = {
        next: Math.max(newest ? newest.last + 1 : 0, meta("next_offset")),
        cumBytes: Math.max(newest?.cum_bytes ?? 0, meta("cum_bytes")),
      };
    }
    return this.counters;
  }

  next(): number {
    return this.tail.next;
  }

  cumBytes(): number {
    return this.tail.cumBytes;
  }

  /** After a transaction that appended failed: read the counters and ids from storage again. */
  forget(): void {
    this.counters = null;
    this.anyMarks = null;
    this.dedup.reset();
    this.clearCache();
  }

  /**
   * Writes `messages` (numbered from the next offset on, gap-free) one row per SEGMENT_BYTES (a
   * big message alone). Inside the caller's transaction.
   */
  append(messages: readonly StoredMessage[], now: number): void {
    if (messages.length > 0 && messages[0]!.offset !== this.tail.next) throw new Error("segments: an append must start at the next offset");
    let i = 0;
    while (i < messages.length) {
      let j = i;
      let bytes = 0;
      if (messages[i]!.bytes > BIG_MESSAGE_BYTES) j = i + 1;
      else {
        while (j < messages.length && messages[j]!.bytes <= BIG_MESSAGE_BYTES && (j === i || bytes + messages[j]!.bytes <= SEGMENT_BYTES)) {
          bytes += messages[j]!.bytes;
          j++;
        }
      }
      this.write(messages.slice(i, j), now);
      i = j;
    }
  }

  private write(batch: readonly StoredMessage[], now: number): void {
    const tail = this.tail;
    const first = tail.next;
    const last = first + batch.length - 1;
    const bytes = batch.reduce((n, m) => n + m.bytes, 0);
    const big = batch.length === 1 && batch[0]!.bytes > BIG_MESSAGE_BYTES ? batch[0]! : null;
    const tuples: Tuple[] = batch.map((m) => [
      m.id,
      m.key,
      big ? null : m.headers,
      big ? null : m.body,
      m.priority,
      m.producedAt,
      m.deliverAt,
      m.expiresAt,
      m.dedupKey,
      m.bytes,
      m.originPartition,
      m.originOffset,
    ]);
    const keys = batch.some((m) => m.dedupKey !== null) ? batch.map((m) => m.dedupKey) : null;
    const expiries = batch.map((m) => m.expiresAt).filter((e) => e > 0);
    const copies = batch.some((m) => m.originOffset !== null);
    if (keys !== null) this.dedup.add(first, last, keys, copies, now);
    this.sql.exec(
      SEGMENT_SQL.insert,
      first,
      last,
      now,
      Math.max(...batch.map((m) => m.producedAt)),
      bytes,
      tail.cumBytes + bytes,
      expiries.length > 0 ? Math.min(...expiries) : 0,
      keys === null ? null : JSON.stringify(keys),
      copies ? 1 : 0,
      JSON.stringify(tuples),
      big?.body ?? null,
      big?.headers ?? null,
    );
    this.counters = { next: last + 1, cumBytes: tail.cumBytes + bytes };
    // The newest segment is what the next lease reads: keep it parsed.
    this.keep({ first, last, messages: batch as StoredMessage[], bytes });
  }

  /** The message at `offset`, or null if the log does not hold it (never, or past retention). */
  at(offset: number): StoredMessage | null {
    const segment = this.segmentHolding(offset);
    return segment ? (segment.messages[offset - segment.first] ?? null) : null;
  }

  /** The messages at `offsets` the log holds, by offset. */
  many(offsets: readonly number[]): Map<number, StoredMessage> {
    const found = new Map<number, StoredMessage>();
    for (const offset of [...offsets].sort((a, b) => a - b)) {
      const m = this.at(offset);
      if (m) found.set(offset, m);
    }
    return found;
  }

  /**
   * Messages from `from` on, in offset order, as long as `more` says so, reading at most
   * `maxSegments` segments. Returns the offset after the last message looked at.
   */
  walk(from: number, maxSegments: number, more: (m: StoredMessage) => boolean): number {
    let at = Math.max(from, 0);
    const end = this.tail.next;
    let read = 0;
    while (at < end && read < maxSegments) {
      const segment = this.segmentHolding(at) ?? this.segmentAfter(at);
      if (!segment) return end;
      read++;
      for (let k = Math.max(at - segment.first, 0); k < segment.messages.length; k++) {
        at = segment.first + k + 1;
        if (!more(segment.messages[k]!)) return at;
      }
      at = segment.last + 1;
    }
    return at;
  }

  private segmentHolding(offset: number): Segment | null {
    // Reads come in runs over one segment: the last one found answers most of them.
    const last = this.lastFound;
    if (last && last.first <= offset && offset <= last.last && this.cache.has(last.first)) return last;
    const found = this.lookUp(offset);
    this.lastFound = found;
    return found;
  }

  private lookUp(offset: number): Segment | null {
    const at = this.firstsAfter(offset) - 1;
    const segment = at >= 0 ? this.cache.get(this.cachedFirsts[at]!) : undefined;
    if (segment && offset <= segment.last) {
      // Most recently used last: Map keeps insertion order.
      this.cache.delete(segment.first);
      this.cache.set(segment.first, segment);
      return segment;
    }
    if (offset >= this.tail.next) return null;
    const row = this.sql.exec<SegmentRow>(SEGMENT_SQL.holding, offset).toArray()[0];
    if (!row || row.last < offset) return null;
    return this.remember(row);
  }

  /** The first segment after a gap that `offset` fell into (retention deleted what held it). */
  private segmentAfter(offset: number): Segment | null {
    const row = this.sql.exec<SegmentRow>(SEGMENT_SQL.from, offset, 2).toArray().find((r) => r.first > offset);
    return row ? this.remember(row) : null;
  }

  private remember(row: SegmentRow): Segment {
    const cached = this.cache.get(row.first);
    if (cached) return cached;
    const tuples = JSON.parse(row.messages) as Tuple[];
    const messages = tuples.map((t, k) => decode(row.first + k, t, row));
    return this.keep({ first: row.first, last: row.last, messages, bytes: messages.reduce((n, m) => n + m.bytes, 0) });
  }

  /** Puts a parsed segment in the cache, dropping the least recently used past SEGMENT_CACHE_BYTES. */
  private keep(segment: Segment): Segment {
    this.uncache(segment.first);
    this.cache.set(segment.first, segment);
    this.cachedFirsts.splice(this.firstsAfter(segment.first), 0, segment.first);
    this.cachedBytes += segment.bytes;
    for (const [first, old] of this.cache) {
      if (this.cachedBytes <= SEGMENT_CACHE_BYTES || old === segment) break;
      this.uncache(first);
    }
    return segment;
  }

  private uncache(first: number): void {
    const cached = this.cache.get(first);
    if (!cached) return;
    this.cache.delete(first);
    this.cachedFirsts.splice(this.firstsAfter(first) - 1, 1);
    this.cachedBytes -= cached.bytes;
  }

  /** How many cached segments start at or before `offset`. */
  private firstsAfter(offset: number): number {
    const firsts = this.cachedFirsts;
    let lo = 0;
    let hi = firsts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (firsts[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private clearCache(): void {
    this.cachedFirsts.length = 0;
    this.cache.clear();
    this.cachedBytes = 0;
  }

  /** Offsets of the messages with this id that the log holds, newest first (a scan: rare calls). */
  byId(id: string): number[] {
    const offsets: number[] = [];
    for (const row of this.sql.exec<SegmentRow>(SEGMENT_SQL.withText, JSON.stringify(id)).toArray()) {
      const segment = this.remember(row);
      for (const m of [...segment.messages].reverse()) if (m.id === id) offsets.push(m.offset);
    }
    return offsets;
  }

  /** Offsets of the messages deduplicated by `key` (dead letters, surge copies); a scan. */
  byDedupKey(key: string): number[] {
    const offsets: number[] = [];
    for (const row of this.sql.exec<SegmentRow>(SEGMENT_SQL.withKey, JSON.stringify(key)).toArray()) {
      for (const m of this.remember(row).messages) if (m.dedupKey === key) offsets.push(m.offset);
    }
    return offsets;
  }

  /**
   * The messages after `after` whose dedup key starts with `prefix` (dead letters of one source
   * subscription) and that are not cancelled or redriven, oldest first, while `visit` says go
   * on. A scan of the segments that hold such keys (a dead-letter partition's).
   */
  withKeyPrefix(prefix: string, after: number, visit: (m: StoredMessage) => boolean): void {
    // Keys sit in a JSON array: a key starting with `prefix` appears as `"` + prefix.
    const needle = JSON.stringify(prefix).slice(0, -1);
    for (const row of this.sql.exec<SegmentRow>(SEGMENT_SQL.withKeyPrefix, after, needle).toArray()) {
      const segment = this.remember(row);
      const marks = this.marksIn(segment.first, segment.last);
      for (const m of segment.messages) {
        if (m.offset <= after || marks.has(m.offset) || !m.dedupKey?.startsWith(prefix)) continue;
        if (!visit(m)) return;
      }
    }
  }

  /**
   * The first copy of `dedupKey` appended at or after `since` (always, for a surge copy's key)
   * and not cancelled: the dedup index, confirmed against the segment so a hash collision never
   * drops a message.
   */
  findDuplicate(dedupKey: string, since: number, isCancelled: (offset: number) => boolean): StoredMessage | null {
    for (const offset of this.dedup.candidates(dedupKey, since)) {
      const m = this.at(offset);
      if (m && m.dedupKey === dedupKey && (m.originOffset !== null || m.producedAt >= since) && !isCancelled(offset)) return m;
    }
    return null;
  }

  marksIn(from: number, to: number): Map<number, Mark> {
    // Marks are rare (a cancel, a redrive): most partitions have none, and every lease asks.
    this.anyMarks ??= this.sql.exec(SEGMENT_SQL.marksAny).toArray().length > 0;
    if (!this.anyMarks) return new Map();
    return new Map(this.sql.exec<{ offset: number; mark: Mark }>(SEGMENT_SQL.marksIn, from, to).toArray().map((r) => [r.offset, r.mark]));
  }

  /** The mark of one message, or null. */
  markOf(offset: number): Mark | null {
    return this.marksIn(offset, offset).get(offset) ?? null;
  }

  mark(offset: number, mark: Mark): void {
    this.sql.exec(SEGMENT_SQL.markSet, offset, mark);
    this.anyMarks = true;
    if (mark === "cancelled") {
      const m = this.at(offset);
      if (m?.dedupKey) this.dedup.remove(m.dedupKey, offset);
    }
  }

  /** The bytes appended before `offset`: for backlog sizes. */
  cumBytesBefore(offset: number): number {
    let before = this.sql.exec<{ before: number }>(SEGMENT_SQL.cumBytesOf, offset).toArray()[0]?.before ?? 0;
    const segment = this.segmentHolding(offset);
    if (segment) for (let k = 0; k < offset - segment.first; k++) before += segment.messages[k]!.bytes;
    return before;
  }

  /** The oldest segments from `from` on, for retention. */
  oldest(from: number, limit: number): { first: number; last: number; producedTo: number }[] {
    return this.sql
      .exec<{ first: number; last: number; produced_to: number }>(SEGMENT_SQL.oldest, from, limit)
      .toArray()
      .map((r) => ({ first: r.first, last: r.last, producedTo: r.produced_to }));
  }

  /** Deletes a whole segment, with its marks. The counters survive in `meta`. */
  delete(first: number, last: number): void {
    const tail = this.tail;
    if (last + 1 >= tail.next) this.sql.exec(SEGMENT_SQL.metaSetCounters, tail.next, tail.cumBytes);
    this.sql.exec(SEGMENT_SQL.delete, first);
    this.sql.exec(SEGMENT_SQL.marksDelete, first, last);
    this.anyMarks = null;
    this.uncache(first);
    this.dedup.dropSegment(first);
  }

  /** After retention deleted segments: the dedup blocks wholly before the oldest one left go. */
  pruneDedupBlocks(): void {
    const oldest = this.sql.exec<{ first: number }>(SEGMENT_SQL.oldestFirst).toArray()[0]?.first ?? this.tail.next;
    this.sql.exec(SEGMENT_SQL.blocksBefore, oldest);
    this.dedup.dropBlocksBefore(oldest);
  }

  /** The first offset produced at or after `atMs` (the next offset if none). */
  firstOffsetSince(atMs: number): number {
    const row = this.sql.exec<{ first: number }>(SEGMENT_SQL.firstProducedSince, atMs).toArray()[0];
    if (!row) return this.tail.next;
    let found = this.tail.next;
    this.walk(row.first, Number.MAX_SAFE_INTEGER, (m) => {
      if (m.producedAt >= atMs) {
        found = m.offset;
        return false;
      }
      return true;
    });
    return found;
  }

  stats(): { messages: number; bytes: number; first: number | null } {
    return this.sql.exec<{ messages: number; bytes: number; first: number | null }>(SEGMENT_SQL.stats).one();
  }

  /** When the oldest message held was produced; null if none. */
  oldestProducedAt(): number | null {
    const row = this.sql.exec<{ first: number }>(SEGMENT_SQL.oldestFirst).toArray()[0];
    return row ? (this.at(row.first)?.producedAt ?? null) : null;
  }
}

function decode(offset: number, t: Tuple, row: SegmentRow): StoredMessage {
  return {
    offset,
    id: t[0],
    key: t[1],
    headers: t[3] === null && row.body !== null ? row.headers : t[2],
    body: t[3] ?? row.body ?? "",
    priority: t[4],
    producedAt: t[5],
    deliverAt: t[6],
    expiresAt: t[7],
    dedupKey: t[8],
    bytes: t[9],
    originPartition: t[10],
    originOffset: t[11],
  };
}
