// The segment model (docs/storage.md): the in-memory dedup index and its spill, the upgrade
// of a partition written by the job-table release, big messages, and bounded lease scans.
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Partition } from "../../src/partition/partition";
import { DedupIndex, type DedupBlock } from "../../src/partition/dedup";
import { PartitionLog } from "../../src/partition/log";
import { migrate } from "../../src/partition/schema";
import { ack, call, createSubscription, createTopic, produce, receive, uniqueName } from "../helpers";

async function rowsRead(topic: string): Promise<number> {
  const r = await call("GET", `/v1/topics/${topic}/stats/rows`);
  return (r.body.partitions as { rows_read: number | null }[]).reduce((n, p) => n + (p.rows_read ?? 0), 0);
}

describe("the dedup index", () => {
  it("is rebuilt from the segments after a restart: a producer id is still a duplicate", async () => {
    const topic = await createTopic(1);
    const [first] = await produce(topic, [{ id: "once", body: 1 }]);
    await abortAllDurableObjects();
    const [again] = await produce(topic, [{ id: "once", body: 2 }]);
    expect(again).toMatchObject({ offset: first!.offset, duplicate: true });
  });

  it("deduplicates within one batch", async () => {
    const topic = await createTopic(1);
    const got = await produce(topic, [{ id: "x", body: 1 }, { id: "x", body: 2 }, { id: "y", body: 3 }]);
    expect(got.map((r) => [r.offset, r.duplicate])).toEqual([
      [0, false],
      [0, true],
      [1, false],
    ]);
  });

  it("stays exact past its memory cap: older keys go to Bloom-filter blocks, read back after a restart", () => {
    // A fake of the segments' side: segments of two keys each, appended one a millisecond.
    const segments: { first: number; last: number; keys: (string | null)[]; appendedAt: number; copies: boolean }[] = [];
    const blocks: DedupBlock[] = [];
    const source = {
      load: (since: number, after: number) => segments.filter((s) => s.first > after && s.appendedAt >= since),
      loadBlocks: (since: number) => blocks.filter((b) => b.appendedTo >= since),
      saveBlock: (b: DedupBlock) => void blocks.push(b),
      inRange: (key: string, from: number, to: number) =>
        segments.filter((s) => s.first >= from && s.first <= to).flatMap((s) => s.keys.flatMap((k, i) => (k === key ? [s.first + i] : []))),
      older: () => [],
    };
    const index = new DedupIndex(source, 5, 4);
    expect(index.candidates("none", 0)).toEqual([]); // loads (nothing)
    for (let n = 0; n < 40; n++) {
      const keys = [`k${2 * n}`, n % 3 === 0 ? null : `k${2 * n + 1}`];
      segments.push({ first: 2 * n, last: 2 * n + 1, keys, appendedAt: n, copies: false });
      index.add(2 * n, 2 * n + 1, keys, false, n);
    }
    expect(blocks.length).toBeGreaterThan(5); // the map holds 5 keys: the rest went to blocks
    const present = segments.flatMap((s) => s.keys.flatMap((k, i) => (k === null ? [] : [[k, s.first + i] as const])));
    for (const [key, offset] of present) expect(index.candidates(key, 0)).toContain(offset);
    for (let n = 0; n < 40; n++) expect(index.candidates(`absent${n}`, 0)).toEqual([]);
    // After a restart: the blocks are read back, the newest keys loaded again from the segments.
    const again = new DedupIndex(source, 5, 4);
    for (const [key, offset] of present) expect(again.candidates(key, 0)).toContain(offset);
    // The window passes the older half: those keys are forgotten, the newer still found.
    expect(again.candidates("k10", 30)).toEqual([]);
    expect(again.candidates("k78", 30)).toEqual([78]);
  });
});

describe("the dedup index in a partition, past its memory cap", () => {
  it("finds every producer id in its blocks (SQL), also after a restart", async () => {
    const stub = env.PARTITION.get(env.PARTITION.idFromName(uniqueName("dedup-blocks"))) as DurableObjectStub<Partition>;
    await runInDurableObject(stub, async (_instance: Partition, state: DurableObjectState) => {
      const small = { trace: true, dedup: { capacity: 50, blockIds: 20 } };
      const message = (id: string) => ({ id, idFromProducer: true, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null });
      const log = new PartitionLog(state.storage, { now: () => Date.now() }, small);
      for (let b = 0; b < 30; b++) log.append(Array.from({ length: 10 }, (_, i) => message(`id-${b * 10 + i}`)));
      const blocks = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM dedup_blocks").one().n;
      expect(blocks).toBeGreaterThan(5);
      const again = (l: PartitionLog) => {
        const outcome = l.append([0, 7, 123, 250, 299].map((n) => message(`id-${n}`)));
        return outcome.ok ? outcome.appended.map((a) => [a.offset, a.duplicate]) : null;
      };
      const expected = [0, 7, 123, 250, 299].map((n) => [n, true]);
      expect(again(log)).toEqual(expected);
      expect(again(new PartitionLog(state.storage, { now: () => Date.now() }, small))).toEqual(expected);
      // Nothing was written per id: the segments and one row per block.
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM segments").one().n).toBe(30);
    });
  });
});

describe("segments", () => {
  it("keep a big message whose body is all quotes (escaping would double it) whole, in a segment of its own", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const body = '"'.repeat(300_000);
    await produce(topic, [{ id: "small", body: 1 }, { id: "big", body }, { id: "after", body: 2 }]);
    const got = await receive(topic, sub, { max_messages: 3 });
    expect(got.map((m) => m.id)).toEqual(["small", "big", "after"]);
    expect(got[1]!.body).toBe(body);
  });
});

describe("a lease's `more`", () => {
  it("is exact across single-message segments: every lease of 10 says more until the last", async () => {
    const stub = env.PARTITION.get(env.PARTITION.idFromName(uniqueName("more"))) as DurableObjectStub<Partition>;
    await runInDurableObject(stub, async (_instance: Partition, state: DurableObjectState) => {
      const log = new PartitionLog(state.storage, { now: () => Date.now() });
      log.subscribe({ uid: "s", mode: "shared", sinceMs: 0 });
      for (let k = 0; k < 95; k++) log.append([{ id: `m${k}`, idFromProducer: false, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null }]);
      const answers: string[] = [];
      for (let more = true; more; ) {
        const r = log.lease("s", 10, 30_000);
        answers.push(`${r.messages.length}${r.more ? "+" : "."}`);
        more = r.more;
      }
      expect(answers).toEqual([...Array(9).fill("10+"), "5."]);
    });
  });

  it("a lease of 100 reads past the scan bound of one-message segments, and says more when the bound stops it", async () => {
    const stub = env.PARTITION.get(env.PARTITION.idFromName(uniqueName("more"))) as DurableObjectStub<Partition>;
    await runInDurableObject(stub, async (_instance: Partition, state: DurableObjectState) => {
      const log = new PartitionLog(state.storage, { now: () => Date.now() });
      log.subscribe({ uid: "s", mode: "shared", sinceMs: 0 });
      const one = (k: number, delayMs: number) => [{ id: `m${k}`, idFromProducer: false, key: null, headers: null, body: "1", priority: 0, delayMs, ttlMs: null }];
      for (let k = 0; k < 250; k++) log.append(one(k, 0));
      const answers: string[] = [];
      for (let more = true; more; ) {
        const r = log.lease("s", 100, 30_000);
        answers.push(`${r.messages.length}${r.more ? "+" : "."}`);
        more = r.more;
      }
      expect(answers).toEqual(["100+", "100+", "50."]);
      // Past a long stretch of delayed messages (rows of their own, skipped) the walk stops at
      // its bound: nothing found yet, but `more`, so the lease is asked again rather than the
      // partition armed as empty while a message waits beyond the stretch.
      for (let k = 0; k < 300; k++) log.append(one(1000 + k, 3_600_000));
      log.append(one(2000, 0));
      const found: string[] = [];
      for (let more = true, calls = 0; more && calls < 10; calls++) {
        const r = log.lease("s", 100, 30_000);
        found.push(`${r.messages.length}${r.more ? "+" : "."}`);
        more = r.more;
      }
      expect(found.at(-1)).toBe("1.");
      expect(found.slice(0, -1).every((a) => a === "0+")).toBe(true);
    });
  });
});

describe("bounded lease scans (issue: edges, item 6)", () => {
  it("an ordered lease does not walk the messages held behind a busy key", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { mode: "ordered" });
    for (let i = 0; i < 20; i++) {
      await produce(topic, Array.from({ length: 100 }, (_, j) => ({ key: "busy", body: i * 100 + j })));
    }
    await produce(topic, [{ key: "other", body: "o" }]);
    const [head] = await receive(topic, sub);
    expect(head!.key).toBe("busy");
    const before = await rowsRead(topic);
    const [next] = await receive(topic, sub);
    const read = (await rowsRead(topic)) - before;
    expect(next!.key).toBe("other");
    // 2,000 messages wait behind "busy"; the lease reads the ready heads, not them.
    expect(read).toBeLessThan(100);
    await ack(topic, sub, [head!.receipt, next!.receipt]);
    const [second] = await receive(topic, sub);
    expect(second!.body).toBe(1);
  });

  it("a filtered lease reads a bounded number of rows per call and resumes where it stopped", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    for (let i = 0; i < 40; i++) {
      await produce(topic, Array.from({ length: 100 }, (_, j) => ({ headers: { kind: "noise" }, body: i * 100 + j })));
    }
    await produce(topic, [{ id: "needle", headers: { kind: "wanted" }, body: "n" }]);
    const reads: number[] = [];
    let found: string | undefined;
    for (let call = 0; call < 5 && !found; call++) {
      const before = await rowsRead(topic);
      const got = await receive(topic, sub, { max_messages: 1, filter: { headers: { kind: "wanted" } } });
      reads.push((await rowsRead(topic)) - before);
      found = got[0]?.id;
    }
    expect(found).toBe("needle");
    // 4,000 messages that do not match: each call reads at most FILTER_SCAN_SEGMENTS segments of them.
    for (const read of reads) expect(read).toBeLessThan(200);
  });
});

describe("the upgrade of a partition written by the job-table release (schema step 5)", () => {
  it("keeps every message, state, offset and receipt", async () => {
    const stub = env.PARTITION.get(env.PARTITION.idFromName(uniqueName("migration"))) as DurableObjectStub<Partition>;
    await runInDurableObject(stub, async (_instance: Partition, state: DurableObjectState) => {
      await state.storage.deleteAll();
      migrate(state.storage, 4);
      const sql = state.storage.sql;
      const now = Date.now();
      // As the previous release wrote them (statements.ts before step 5): five messages; a
      // shared subscription that acked 0, leased 1 and 2, has 3 ready, 4 delayed; an ordered one.
      sql.exec("INSERT INTO subscriptions (uid, mode, since_ms, policy) VALUES ('s', 'shared', 0, NULL), ('o', 'ordered', 0, NULL)");
      for (let offset = 0; offset < 5; offset++) {
        sql.exec(
          `INSERT INTO log (offset, id, key, headers, body, priority, produced_at, deliver_at, expires_at, dedup_key, bytes, cum_bytes)
           VALUES (?, ?, 'k', '{"h":"v"}', ?, 0, ?, ?, 0, ?, 10, ?)`,
          offset,
          `m${offset}`,
          JSON.stringify({ n: offset }),
          now - 1000,
          offset === 4 ? now + 60_000 : 0,
          `m${offset}`,
          10 * (offset + 1),
        );
      }
      const row = (sub: string, offset: number, state: number, due: number, attempt: number, nonce: string | null) =>
        sql.exec(
          "INSERT INTO deliveries (sub, offset, state, due_at, attempt, nonce, okey, priority, expires_at) VALUES (?, ?, ?, ?, ?, ?, 'k', 0, 0)",
          sub,
          offset,
          state,
          due,
          attempt,
          nonce,
        );
      row("s", 1, 2, now + 30_000, 1, "oldnonce");
      row("s", 2, 2, now + 30_000, 1, "oldnonce");
      row("s", 3, 0, 0, 0, null);
      row("s", 4, 1, now + 60_000, 0, null);
      for (let offset = 0; offset < 4; offset++) row("o", offset, 0, 0, 0, null);
      row("o", 4, 1, now + 60_000, 0, null);
      sql.exec("INSERT OR REPLACE INTO meta (name, value) VALUES ('next_offset', 5), ('cum_bytes', 50)");

      migrate(state.storage);
      const log = new PartitionLog(state.storage, { now: () => now });
      const stats = log.stats();
      expect(stats.messages).toBe(5);
      expect(stats.nextOffset).toBe(5);
      const shared = stats.subscriptions.find((s) => s.uid === "s")!;
      expect([shared.ready, shared.inFlight, shared.delayed]).toEqual([1, 2, 1]);
      // The receipt handed out before the upgrade acks after it.
      expect(log.ack("s", [{ offset: 1, nonce: "oldnonce" }])).toEqual([{ ok: true }]);
      const leased = log.lease("s", 10, 30_000);
      expect(leased.messages.map((m) => [m.offset, m.body, m.headers])).toEqual([[3, JSON.stringify({ n: 3 }), '{"h":"v"}']]);
      // The ordered subscription: only the key's head is deliverable.
      expect(log.lease("o", 10, 30_000).messages.map((m) => m.offset)).toEqual([0]);
      // New messages continue the offsets, and an old producer id is still a duplicate.
      const appended = log.append([
        { id: "m2", idFromProducer: true, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null },
        { id: "new", idFromProducer: true, key: null, headers: null, body: "2", priority: 0, delayMs: 0, ttlMs: null },
      ]);
      expect(appended.ok && appended.appended.map((a) => [a.offset, a.duplicate])).toEqual([
        [2, true],
        [5, false],
      ]);
      expect(log.lease("s", 10, 30_000).messages.map((m) => m.offset)).toEqual([5]);
    });
  });
});
