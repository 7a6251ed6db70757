import type { Context } from "./command.js";

type Cell = string | number | null;

/** Rows as a plain text table with a header, columns padded to their widest cell. */
export function table(header: string[], rows: Cell[][]): string {
  const cells = [header, ...rows.map((row) => row.map((c) => (c === null ? "-" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

/** A list: as JSON with --json, else as a table of `header` with one row per item. */
export function printList<T>(c: Context, items: readonly T[], header: string[], row: (item: T) => Cell[]): void {
  c.print(c.values.json ? JSON.stringify(items) : table(header, items.map(row)));
}
