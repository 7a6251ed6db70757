import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Bells } from "../../src/partition/bells";
import type { Partition } from "../../src/partition/partition";
import { uniqueName } from "../helpers";

const address = { name: "topic:sub:0", index: 2 };

/** Runs `check` with a Bells on a fresh partition's storage, and a way to load another one from it. */
async function withBells(check: (bells: Bells, reload: () => Bells) => void): Promise<void> {
  const stub = env.PARTITION.get(env.PARTITION.idFromName(uniqueName("bells")));
  await runInDurableObject<Partition, void>(stub, (_, state) => {
    const reload = () => new Bells(state.storage.sql);
    check(reload(), reload);
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

  it("are kept in storage: a partition loaded again still rings, and seqs keep growing", async () => {
    await withBells((bells, reload) => {
      const seq = bells.arm("s", address);
      expect(reload().take("s")).toEqual({ subscriptionUid: "s", ...address, seq });
      expect(reload().take("s")).toBeNull();
      expect(reload().arm("s", address)).toBe(seq + 1);
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
