const WIDTH = 30;

/**
 * The progress line `weir produce` redraws on a terminal: a bar when the share done is known
 * (reading a file), else only the count.
 */
export function progressLine(messages: number, fraction: number | null): string {
  if (fraction === null) return `produced ${messages} messages`;
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * WIDTH);
  return `[${"#".repeat(done)}${".".repeat(WIDTH - done)}] ${Math.floor(fraction * 100)}%  ${messages} messages`;
}
