/**
 * The lines of a newline-delimited JSON body, each parsed, as they arrive. Empty lines are
 * skipped; a last line without its newline is still read.
 */
export async function* ndjson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = done ? "" : (lines.pop() ?? "");
      for (const line of lines) if (line.trim() !== "") yield JSON.parse(line);
      if (done) return;
    }
  } finally {
    // The caller stopped early (break, throw): let the server see the client go.
    await reader.cancel().catch(() => undefined);
  }
}
