import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { MessageInput } from "../../types.js";
import type { Command } from "../command.js";
import { progressLine } from "../progress.js";

// Lines read before each produce call (which splits them further by the server's byte limit).
const CHUNK = 1000;

/** A line that is not a message: reported with its number, exit code 2. */
class BadLine extends Error {}

export const produceCommand: Command = {
  name: "produce",
  args: "TOPIC [FILE]",
  summary: "Produce messages from JSON lines in FILE or on standard input.",
  help: [
    "  --bodies   each line is a message body rather than a message object",
  ],
  notes: [
    'Each line is a message object as the API takes it, e.g. {"id": "o-1", "key": "c-42", "body": {"total": 5}}.',
    "Lines are produced in order, in batches; the first line that is not valid stops the run (exit 2),",
    "the lines before it are stored. A progress line is shown on a terminal, and a summary at the end.",
  ],
  options: { bodies: { type: "boolean" } },
  positionals: [1, 2],
  async run(c) {
    const [topic, file] = c.positionals as [string, string | undefined];
    const weir = c.weir();
    const input = file === undefined ? c.io.stdin : createReadStream(file);
    const lines = createInterface({ input, crlfDelay: Infinity });
    const started = Date.now();
    let stored = 0;
    let duplicates = 0;
    // A file's size gives the share read so far (bytes of the lines before the batch sent).
    const size = file === undefined ? null : statSync(file).size;
    let bytesRead = 0;
    const progress = c.io.stderr.isTTY
      ? (n: number) => c.io.stderr.write(`\r${progressLine(n, size ? bytesRead / size : null)}`)
      : () => undefined;
    const send = async (chunk: MessageInput[]) => {
      const results = await weir.produce(topic, chunk, { signal: c.io.signal, onProgress: (n) => progress(stored + n) });
      stored += results.length;
      duplicates += results.filter((r) => r.duplicate).length;
      if (c.values.json) for (const r of results) c.print(JSON.stringify(r));
    };
    let chunk: MessageInput[] = [];
    let number = 0;
    try {
      for await (const line of lines) {
        number++;
        bytesRead += Buffer.byteLength(line) + 1;
        if (line.trim() === "") continue;
        chunk.push(message(line, number, c.values.bodies === true));
        if (chunk.length === CHUNK) {
          await send(chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) await send(chunk);
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      if (chunk.length > 0) await send(chunk);
      if (c.io.stderr.isTTY) c.io.stderr.write("\n");
      c.io.stderr.write(`weir produce: ${error.message}; ${stored} messages before it are stored\n`);
      return 2;
    }
    if (c.io.stderr.isTTY) c.io.stderr.write("\n");
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const summary = `produced ${stored} messages to ${topic} (${duplicates} duplicates) in ${seconds} s`;
    if (c.values.json) c.io.stderr.write(`${summary}\n`);
    else c.print(summary);
  },
};

function message(line: string, number: number, bodies: boolean): MessageInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new BadLine(`line ${number} is not JSON`);
  }
  if (bodies) return { body: parsed };
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || !("body" in parsed)) {
    throw new BadLine(`line ${number} is not a message object with a "body" (use --bodies for bare bodies)`);
  }
  return parsed as MessageInput;
}
