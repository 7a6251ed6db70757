import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Bells } from "../../src/partition/bells";
import type { Partition } from "../../src/partition/partition";
import { uniqueName } from "../helpers";

const address = { name: "topic:sub:0", index: 2 };

/** Runs `check` with a Bells on a fresh partition's storage, a way to load another one from it, and its rows written so far. */
async function withBells(check: (bells: Bells, reload: () => Bells, written: () => number) => void): Promise<void> {
  const stub = env.PARTITION.get(env.PARTITION.idFromName(uniqueName("bells")));
  await runInDurableObject<Partition, void>(stub, (_, state) => {
    const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
    const sql = new Proxy(state.storage.sql, {
      get(target, property) {
        if (property !== "exec") return Reflect.get(target, property, target) as unknown;
        return (query: string, ...bindings: SqlStorageValue[]) => {
          const cursor = target.exec(query, ...bindings);
          cursors.push(cursor);
          return cursor;
        };
      },
    });
    const reload = () => new Bells(sql);
    check(reload(), reload, () => cursors.reduce((n, c) => n + c.rowsWritten, 0));
  });
}

describe("bells", () => {
  it("ring once per arm, and an arm that is armed already keeps its seq", async () => {
    await withBells((bells) => {
      const seq = bells.arm("s", address);
      expect(bells.arm("s", address)).toBe(seq);
      expect(bells.take("s")).toEqual({ subscriptionUid: "s", ...address, seq });
      expect(bells.take("s")).toBeNull();
      expect(bells.arm("s", address)).toBe(seq + 1);
    });
  });

  it("write a row only when a subscription's doorbell changes, not per arm or ring", async () => {
    await withBells((bells, _reload, written) => {
      bells.arm("s", address);
      const once = written();
      expect(once).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) {
        bells.take("s");
        bells.arm("s", address);
      }
      expect(written()).toBe(once);
      bells.arm("s", { ...address, index: 3 });
      expect(written()).toBeGreaterThan(once);
    });
  });

  it("loaded again (an evicted partition), treat every known doorbell as armed, with seqs above every earlier one", async () => {
    await withBells((bells, reload) => {
      let seq = bells.arm("s", address);
      for (let i = 0; i < 5; i++) {
        bells.take("s");
        seq = bells.arm("s", address);
      }
      bells.take("s");
      // It cannot know whether it was armed when it stopped: it rings once, to be safe, and a
      // report of an arm from before (a Worker held it) must count as older than that ring.
      const again = reload();
      const ring = again.take("s")!;
      expect(ring).toMatchObject({ subscriptionUid: "s", ...address });
      expect(ring.seq).toBeGreaterThan(seq);
      expect(again.arm("s", address)).toBeGreaterThan(ring.seq);
    });
  });

  it("arm again after a failed ring unless armed anew since", async () => {
    await withBells((bells) => {
      const first = bells.arm("s", address);
      const taken = bells.take("s")!;
      bells.rearm(taken);
      expect(bells.take("s")?.seq).toBe(first);
      const second = bells.arm("s", address);
      bells.rearm(taken);
      expect(bells.take("s")?.seq).toBe(second);
    });
  });

  it("arm anew for another doorbell, and take all armed bells at once", async () => {
    await withBells((bells) => {
      const seq = bells.arm("s", address);
      expect(bells.arm("s", { ...address, name: "topic:sub:99" })).toBe(seq + 1);
      bells.arm("t", address);
      expect(bells.takeAll().map((b) => b.subscriptionUid).sort()).toEqual(["s", "t"]);
      expect(bells.takeAll()).toEqual([]);
    });
  });
});
