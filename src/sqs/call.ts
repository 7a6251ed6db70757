import { z } from "zod";
import type { Env } from "../env";
import { SQS_MAX_BATCH_ENTRIES as MAX_BATCH_ENTRIES } from "../shared/limits";
import type { SqsPrincipal } from "./access";
import { SqsError, invalidParameter, missingParameter, queueDoesNotExist } from "./errors";

/** One SQS request, authenticated, as an operation sees it. */
export interface SqsCall {
  env: Env;
  ctx: ExecutionContext;
  principal: SqsPrincipal;
  /** The origin the client called (scheme, host, port): QueueUrls begin with it. */
  origin: string;
  requestId: string;
  /** Aborted when the client has gone. */
  signal: AbortSignal;
}

export type Operation = (call: SqsCall, input: object) => Promise<object>;

/**
 * An operation whose input `schema` checks first: a missing member is MissingParameter, a
 * member of the wrong type or out of range InvalidParameterValue, each naming the member.
 */
export function operation<S extends z.ZodType>(schema: S, run: (call: SqsCall, input: z.infer<S>) => Promise<object>): Operation {
  return (call, input) => run(call, parseInput(schema, input));
}

function parseInput<S extends z.ZodType>(schema: S, input: object): z.infer<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map((p, i) => (typeof p === "number" ? `.${p + 1}` : i === 0 ? String(p) : `.${String(p)}`)).join("");
  if (issue.code === "invalid_type" && issue.input === undefined) throw missingParameter(path);
  throw invalidParameter(path || "(body)", issue.input ?? "", issue.message);
}

/** SQS queue names: 1 to 80 of A-Z a-z 0-9 _ -, the last 5 `.fifo` for a FIFO queue. */
export const QUEUE_NAME = /^(?=.{1,80}$)[A-Za-z0-9_-]+(\.fifo)?$/;

/** The queue a QueueUrl names (its last path segment; a bare name is taken too). */
export function queueNameOf(queueUrl: string): string {
  let path = queueUrl;
  if (/^https?:\/\//i.test(queueUrl)) {
    try {
      path = new URL(queueUrl).pathname;
    } catch {
      throw queueDoesNotExist();
    }
  }
  const name = path.split("/").filter(Boolean).at(-1) ?? "";
  if (!QUEUE_NAME.test(name)) throw queueDoesNotExist();
  return name;
}

/** The QueueUrl of queue `name` for a client that called `origin`. */
export function queueUrl(origin: string, name: string): string {
  return `${origin}/000000000000/${name}`;
}

/** Batch entry ids: 1 to 80 of A-Z a-z 0-9 _ -. */
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Checks a batch's entries as SQS does, for the whole request: EmptyBatchRequest,
 * TooManyEntriesInBatchRequest, InvalidBatchEntryId, BatchEntryIdsNotDistinct.
 */
export function checkBatch(entries: readonly { Id: string }[], entryType: string): void {
  if (entries.length === 0) throw new SqsError("EmptyBatchRequest", `There should be at least one ${entryType} in the request.`);
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      "TooManyEntriesInBatchRequest",
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const { Id } of entries) {
    if (!BATCH_ENTRY_ID.test(Id)) {
      throw new SqsError(
        "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
      );
    }
    if (seen.has(Id)) throw new SqsError("BatchEntryIdsNotDistinct", `Id ${Id} repeated.`);
    seen.add(Id);
  }
}

/** A failed batch entry, as SQS answers it. */
export function failedEntry(id: string, error: SqsError): { Id: string; SenderFault: boolean; Code: string; Message: string } {
  return { Id: id, SenderFault: error.senderFault, Code: error.code, Message: error.message };
}
