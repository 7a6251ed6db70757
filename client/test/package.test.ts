import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Every module specifier a built file imports, and the files it reaches through relative ones. */
function importsOf(file: URL, seen = new Set<string>()): string[] {
  if (seen.has(file.href)) return [];
  seen.add(file.href);
  const source = readFileSync(file, "utf8");
  const specifiers = [...source.matchAll(/(?:from\s*|import\s*\(?\s*)["']([^"']+)["']/g)].map((m) => m[1]!);
  return specifiers.flatMap((s) => (s.startsWith(".") ? importsOf(new URL(s, file), seen) : [s]));
}

describe("the package", () => {
  it("resolves @weir/client and @weir/client/testing from the repository root", () => {
    const script =
      'const c = await import("@weir/client"); const t = await import("@weir/client/testing");' +
      "console.log(typeof c.Weir, typeof c.WeirError, typeof c.DoNotRetry, typeof t.startWeir);";
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("function function function function");
  });

  it("imports nothing but its own files in the main entry: no Node built-ins, no dependencies", () => {
    const entry = new URL("../dist/index.js", import.meta.url);
    const outside = importsOf(entry);
    expect(outside).toEqual([]);
    expect(outside.filter((s) => s.startsWith("node:") || builtinModules.includes(s))).toEqual([]);
  });

  it("runs `npx weir --help` from the repository root", () => {
    const run = spawnSync("npx", ["weir", "--help"], { cwd: root, encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Usage: weir <command>");
  });
});
