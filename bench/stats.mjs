// Each figure of the bench is the median of several runs taken after a warm-up, reported with
// the min and max so the spread is visible (the same point moves by up to a third between runs
// on this kind of machine).

/** Runs `once()` `warmups` times unrecorded, then `runs` times; returns each key's summary. */
export async function repeat({ runs, warmups = 1 }, once) {
  for (let i = 0; i < warmups; i++) await once({ warmup: true, run: -1 });
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await once({ warmup: false, run: i }));
  return summarizeRuns(samples);
}

/** [{a: 1, b: 2}, {a: 3, b: 4}] → {a: {median, min, max, runs: [1, 3]}, b: …}. */
export function summarizeRuns(samples) {
  const out = {};
  for (const key of Object.keys(samples[0] ?? {})) out[key] = summarize(samples.map((s) => s[key]));
  return out;
}

export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: values };
}
