import { untilAborted } from "./abort.js";

/**
 * The lines of a newline-delimited JSON body, each parsed, as they arrive. Empty lines are
 * skipped; a last line without its newline is still read. When `signal` aborts, the reading
 * stops with its reason.
 */
export async function* ndjson(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { done, value } = await untilAborted(reader.read(), signal);
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = done ? "" : (lines.pop() ?? "");
      for (const line of lines) if (line.trim() !== "") yield JSON.parse(line);
      if (done) return;
    }
  } finally {
    // The caller stopped early (break, throw): let the server see the client go. After an abort
    // a cancel may wait on the read left pending (see untilAborted): not awaited then.
    const cancelled = reader.cancel().catch(() => undefined);
    if (!signal?.aborted) await cancelled;
  }
}
