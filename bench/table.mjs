// Renders the bench's rows as one fixed-width text table. A row is
// { label, unit, summary: {median, min, max}, ceiling?: {label, median}, ratio?, target?: {text, pass} }
// or { section } for a heading.

const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatValue(value, unit) {
  if (value === undefined || value === null || Number.isNaN(value)) return "–";
  if (unit === "ms") return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (unit === "rows/msg" || unit === "calls/msg" || unit === "req/msg") return value.toFixed(3);
  if (unit === "$/M msg") return value.toFixed(3);
  if (unit === "×") return value.toFixed(2);
  return GROUPED.format(value);
}

const mark = (target) => (target === undefined ? "" : `${target.pass ? "PASS" : "FAIL"}  ${target.text}`);

export function renderTable(rows) {
  const header = ["figure", "median", "min–max", "unit", "ceiling (median)", "ratio", "target"];
  const lines = rows.map((row) => {
    if (row.section !== undefined) return { section: row.section };
    const { median, min, max } = row.summary;
    return {
      cells: [
        row.label,
        formatValue(median, row.unit),
        `${formatValue(min, row.unit)}–${formatValue(max, row.unit)}`,
        row.unit,
        row.ceiling ? `${formatValue(row.ceiling.median, row.unit)} ${row.ceiling.label}` : "",
        row.ratio === undefined ? "" : `${(row.ratio * 100).toFixed(0)}%`,
        mark(row.target),
      ],
    };
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => l.cells).map((l) => l.cells[i].length)));
  const right = new Set([1, 2, 5]);
  const format = (cells) =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  const out = [format(header), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const line of lines) out.push(line.section !== undefined ? `\n${line.section}` : format(line.cells));
  return out.join("\n");
}
