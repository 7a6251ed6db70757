import { describe, expect, it } from "vitest";
import { TtlCache } from "../../src/catalog/cache";

describe("the catalog's TTL cache", () => {
  it("serves a value until its time to live ends, then loads it again", async () => {
    let now = 0;
    const cache = new TtlCache<string, number>(10, { now: () => now });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get("a", load, () => 100)).toBe(1);
    now = 99;
    expect(await cache.get("a", load, () => 100)).toBe(1);
    now = 100;
    expect(await cache.get("a", load, () => 100)).toBe(2);
  });

  it("drops the least recently used entry when full, never the whole cache", async () => {
    const cache = new TtlCache<string, string>(3);
    const ttl = () => 60_000;
    for (const k of ["a", "b", "c"]) await cache.get(k, async () => k, ttl);
    await cache.get("a", async () => "reloaded", ttl); // a is now the most recent
    await cache.get("d", async () => "d", ttl); // b goes
    expect(cache.size).toBe(3);
    expect(await cache.get("a", async () => "reloaded", ttl)).toBe("a");
    expect(await cache.get("b", async () => "b again", ttl)).toBe("b again");
  });
});
