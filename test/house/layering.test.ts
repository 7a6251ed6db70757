import { describe, expect, it } from "vitest";

// The source of every module under src/, read at build time (Vite's import.meta.glob), so that
// the layering of docs/architecture.md can be checked as code: see "Where to put a change".
const sources = import.meta.glob<string>("../../src/**/*.ts", { query: "?raw", import: "default", eager: true });

/** Each module (as `src/...` path) and the src modules it imports, types included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [path, text] of Object.entries(sources)) {
    const from = path.replace(/^(\.\.\/)+/, "");
    const dir = from.split("/").slice(0, -1);
    const targets: string[] = [];
    for (const match of text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
      const parts = [...dir];
      for (const segment of match[1]!.split("/")) {
        if (segment === "..") parts.pop();
        else if (segment !== ".") parts.push(segment);
      }
      targets.push(`${parts.join("/")}.ts`);
    }
    graph.set(from, targets);
  }
  return graph;
}

/** The folder (concern) of a module: src/http/schemas/x.ts → http. */
const room = (path: string) => (path.split("/").length > 2 ? path.split("/")[1]! : path);

/** Imports from one room into another, as "from → to" lines. */
function crossings(fromRoom: string, toRoom: string): string[] {
  const found: string[] = [];
  for (const [from, targets] of importGraph()) {
    if (room(from) !== fromRoom) continue;
    for (const target of targets) if (room(target) === toRoom) found.push(`${from} → ${target}`);
  }
  return found;
}

describe("the house's layering", () => {
  it("reads every module of src/", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(40);
    expect(crossings("http", "routing").length).toBeGreaterThan(0);
  });

  it("keeps http/ off the partition: it asks routing/, not even a type from partition/", () => {
    expect(crossings("http", "partition")).toEqual([]);
    expect(crossings("http", "doorbell")).toEqual([]);
  });

  it("never lets routing/ or cron/ import http/ (nothing below http knows of HTTP)", () => {
    for (const below of ["routing", "cron", "catalog", "partition", "doorbell", "rate-limiter", "shared"]) {
      expect(crossings(below, "http")).toEqual([]);
    }
  });

  it("keeps cron/ to routing/ and the catalog: it obtains no stub itself", () => {
    expect(crossings("cron", "partition")).toEqual([]);
    for (const [from, targets] of importGraph()) {
      if (room(from) === "cron") expect(targets.filter((t) => t === "src/routing/handles.ts"), from).toEqual([]);
    }
  });

  it("keeps the objects below the Worker: partition/ imports only shared/ and env", () => {
    for (const other of ["http", "routing", "cron", "catalog"]) expect(crossings("partition", other)).toEqual([]);
  });

  it("keeps shared/ at the bottom", () => {
    for (const [from, targets] of importGraph()) {
      if (room(from) === "shared") expect(targets.filter((t) => room(t) !== "shared"), from).toEqual([]);
    }
  });

  it("keeps sqs/ a translation: no object module, nothing of http/, routing/ through its one adapter", () => {
    for (const other of ["partition", "doorbell", "http"]) expect(crossings("sqs", other)).toEqual([]);
    for (const other of ["http", "routing", "cron", "catalog", "partition", "doorbell", "rate-limiter", "shared"]) {
      expect(crossings(other, "sqs")).toEqual([]);
    }
    const callers = [...importGraph()]
      .filter(([from, targets]) => room(from) === "sqs" && targets.some((t) => room(t) === "routing"))
      .map(([from]) => from);
    expect(callers).toEqual(["src/sqs/weir.ts"]);
  });

  it("obtains object stubs only in routing/ and in the objects' own calls to each other", () => {
    const allowed = /^src\/(routing|partition)\/|^src\/http\/auth\.ts$/;
    for (const [path, text] of Object.entries(sources)) {
      const from = path.replace(/^(\.\.\/)+/, "");
      if (/\.(PARTITION|DOORBELL)\.get\(/.test(text)) expect(allowed.test(from), from).toBe(true);
    }
  });
});
