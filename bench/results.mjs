// bench/results/ keeps every run as JSON (the folder is ignored by git).
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function writeResult(kind, content) {
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = new URL(`./${kind}-${at.replaceAll(":", "-")}.json`, dir);
  writeFileSync(file, JSON.stringify({ at, kind, ...content }, null, 2));
  return fileURLToPath(file);
}
