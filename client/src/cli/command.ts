import { parseArgs, type ParseArgsConfig } from "node:util";
import { Weir } from "../weir.js";

/** Wrong use of the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What a command runs with. */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Aborted on SIGINT / SIGTERM. */
  signal: AbortSignal;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** One subcommand, e.g. `weir topics create`. */
export interface Command {
  /** e.g. "topics create" */
  name: string;
  /** Positional arguments as shown in the usage, e.g. "TOPIC [FILE]". */
  args: string;
  summary: string;
  /** Lines of option help, "  --flag VALUE   what it does". */
  help?: string[];
  /** Paragraph lines printed after the options. */
  notes?: string[];
  options?: Options;
  /** How many positional arguments it takes: [at least, at most]. */
  positionals: [number, number];
  run(context: Context): Promise<number | void>;
}

export interface Context {
  io: Io;
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  /** A client for the --url / WEIR_URL server with the --token / WEIR_TOKEN key. */
  weir(): Weir;
  print(line: string): void;
}

export const COMMON_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

const COMMON_HELP = [
  "  --url URL       the Weir server (default: $WEIR_URL)",
  "  --token TOKEN   an API key or the admin token (default: $WEIR_TOKEN)",
  "  --json          print the server's JSON answer instead of a table",
  "  -h, --help      this help",
];

export function usage(command: Command): string {
  return [
    `Usage: weir ${command.name}${command.args ? ` ${command.args}` : ""} [options]`,
    "",
    command.summary,
    "",
    "Options:",
    ...(command.help ?? []),
    ...COMMON_HELP,
    ...(command.notes ? ["", ...command.notes] : []),
    "",
  ].join("\n");
}

/** Parses argv for `command`; throws UsageError on unknown options or a wrong argument count. */
export function parse(command: Command, argv: string[], io: Io): Context | "help" {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [least, most] = command.positionals;
  if (positionals.length < least || positionals.length > most) {
    throw new UsageError(`expected ${command.args || "no arguments"}, got ${positionals.length === 0 ? "none" : positionals.join(" ")}`);
  }
  return {
    io,
    positionals,
    values: values as Context["values"],
    weir: () => {
      const url = (values.url as string | undefined) ?? io.env.WEIR_URL;
      const token = (values.token as string | undefined) ?? io.env.WEIR_TOKEN;
      if (!url) throw new UsageError("no server: give --url or set WEIR_URL");
      if (!token) throw new UsageError("no key: give --token or set WEIR_TOKEN");
      return new Weir({ url, token });
    },
    print: (line) => void io.stdout.write(`${line}\n`),
  };
}

/** A whole number option, or undefined when not given. */
export function intOption(context: Context, name: string, min = 0): number | undefined {
  const value = context.values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, got ${String(value)}`);
  return n;
}

/** A JSON object option (e.g. --settings '{"partitions": 4}'), or {} when not given. */
export function jsonOption(context: Context, name: string): Record<string, unknown> {
  const value = context.values[name];
  if (value === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(String(value));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--${name} must be a JSON object: ${error instanceof Error ? error.message : String(error)}`);
  }
}
