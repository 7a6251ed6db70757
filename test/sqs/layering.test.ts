/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";

// The source of src/sqs, as text: the SQS endpoint is a translation over routing/ and the catalog.
const sources = import.meta.glob<string>("../../src/sqs/*.ts", { query: "?raw", import: "default", eager: true });

function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]!);
}

describe("src/sqs", () => {
  it("imports no Durable Object module and nothing of the REST API", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(5);
    for (const [file, source] of Object.entries(sources)) {
      for (const target of importsOf(source)) {
        expect(target, `${file} imports ${target}`).not.toMatch(/\/(partition|doorbell|http)\//);
      }
    }
  });

  it("calls routing/ from one adapter file only", () => {
    const callers = Object.entries(sources)
      .filter(([, source]) => importsOf(source).some((t) => t.includes("/routing/")))
      .map(([file]) => file.split("/").at(-1));
    expect(callers).toEqual(["weir.ts"]);
  });
});
