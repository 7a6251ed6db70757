import { describe, expect, it } from "vitest";
import { IsolateMemo } from "../../src/shared/isolate-memo";

describe("IsolateMemo", () => {
  it("keeps what it is given until it would pass its capacity, then starts over", () => {
    const memo = new IsolateMemo<string, number>(3);
    memo.set("a", 1);
    memo.set("b", 2);
    memo.set("c", 3);
    // Setting a key it holds never clears it.
    memo.set("a", 10);
    expect([memo.get("a"), memo.get("b"), memo.get("c")]).toEqual([10, 2, 3]);
    // A fourth key: everything else is forgotten, so it never holds more than 3.
    memo.set("d", 4);
    expect([memo.has("a"), memo.has("b"), memo.has("c"), memo.get("d")]).toEqual([false, false, false, 4]);
  });

  it("makes a value once per key and forgets a deleted one", () => {
    const memo = new IsolateMemo<string, { n: number }>(10);
    let made = 0;
    const make = () => ({ n: ++made });
    const first = memo.getOrMake("k", make);
    expect(memo.getOrMake("k", make)).toBe(first);
    expect(made).toBe(1);
    memo.delete("k");
    expect(memo.getOrMake("k", make)).toEqual({ n: 2 });
  });
});
