/**
 * The lines of a newline-delimited JSON body, parsed one by one as they arrive: for tests in
 * workerd and in Node alike (it needs nothing but web streams).
 */
export function ndjsonLines<T>(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    /** The next line, or null once the body has ended. */
    async next(): Promise<T | null> {
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return JSON.parse(line) as T;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffered += value;
      }
    },
    /** Every line until the body ends. */
    async rest(): Promise<T[]> {
      const lines: T[] = [];
      for (let line = await this.next(); line !== null; line = await this.next()) lines.push(line);
      return lines;
    },
    cancel: () => reader.cancel(),
  };
}
