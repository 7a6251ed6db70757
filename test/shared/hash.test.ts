import { describe, expect, it } from "vitest";
import { fnv1a32, partitionForKey } from "../../src/shared/hash";
import { sortableId } from "../../src/shared/ids";

describe("key hashing", () => {
  it("matches the published FNV-1a 32-bit test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("hashes the UTF-8 bytes of a key", () => {
    // "é" is two bytes, c3 a9: fold both.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32("é")).toBe(h);
  });

  it("maps a key to hash modulo the partition count", () => {
    expect(partitionForKey("foobar", 4)).toBe(0xbf9cf968 % 4);
    expect(partitionForKey("order-17", 1)).toBe(0);
  });
});

describe("sortable ids", () => {
  it("sort by creation time", () => {
    const a = sortableId(1_700_000_000_000);
    const b = sortableId(1_700_000_000_001);
    expect(a < b).toBe(true);
    expect(a).toHaveLength(26);
  });
});
