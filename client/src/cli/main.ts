// `weir`: the command line. Exit codes: 0 done, 1 the server refused or could not be reached,
// 2 wrong usage, 130 interrupted (SIGINT or SIGTERM) before it was done.
import { WeirError } from "../errors.js";
import { parse, usage, UsageError, type Command, type Io } from "./command.js";
import { consumeCommand } from "./commands/consume.js";
import { dlqCommands } from "./commands/dlq.js";
import { keyCommands } from "./commands/keys.js";
import { produceCommand } from "./commands/produce.js";
import { statsCommand } from "./commands/stats.js";
import { subscriptionCommands } from "./commands/subs.js";
import { topicCommands } from "./commands/topics.js";
import { traceCommand } from "./commands/trace.js";

export const COMMANDS: Command[] = [
  ...topicCommands,
  ...subscriptionCommands,
  produceCommand,
  consumeCommand,
  statsCommand,
  traceCommand,
  ...dlqCommands,
  ...keyCommands,
];

function overview(commands: Command[], prefix = ""): string {
  const width = Math.max(...commands.map((c) => `${c.name} ${c.args}`.length));
  return [
    `Usage: weir ${prefix ? `${prefix} ` : ""}<command> [options]`,
    "",
    "Commands:",
    ...commands.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --url (or WEIR_URL), --token (or WEIR_TOKEN) and --help.",
    "Exit codes: 0 done, 1 the server refused or could not be reached, 2 wrong usage, 130 interrupted.",
    "",
  ].join("\n");
}

/** Runs one command line; answers its exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const words = argv.filter((a) => !a.startsWith("-"));
  // The longest command name the leading words spell: "topics create" before "produce".
  const command = COMMANDS.find((c) => c.name.split(" ").every((word, i) => argv[i] === word));
  if (!command) {
    const group = COMMANDS.filter((c) => c.name.split(" ")[0] === argv[0]);
    const asked = argv.length === 0 || argv[0] === "help" || argv.includes("--help") || argv.includes("-h");
    if (argv[0] === "--version") {
      io.stdout.write("0.1.0\n");
      return 0;
    }
    if (asked) {
      io.stdout.write(overview(group.length > 0 ? group : COMMANDS, group.length > 0 ? argv[0] : ""));
      return 0;
    }
    io.stderr.write(`weir: unknown command ${words.join(" ") || argv.join(" ")}\n\n${overview(group.length > 0 ? group : COMMANDS)}`);
    return 2;
  }
  const rest = argv.slice(command.name.split(" ").length);
  try {
    const context = parse(command, rest, io);
    if (context === "help") {
      io.stdout.write(usage(command));
      return 0;
    }
    return (await command.run(context)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`weir ${command.name}: ${error.message}\n\n${usage(command)}`);
      return 2;
    }
    if (io.signal.aborted) {
      io.stderr.write(`weir ${command.name}: interrupted\n`);
      return 130;
    }
    if (error instanceof WeirError) {
      io.stderr.write(`weir ${command.name}: ${error.code} (${error.status || "no answer"}): ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function processIo(): Io {
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => controller.abort());
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal };
}
