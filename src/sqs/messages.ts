// Message operations: SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
// ChangeMessageVisibility(Batch). An SQS body is stored as a JSON string body, its attributes
// in one header (message-attributes.ts); a FIFO queue's MessageGroupId is the key and its
// deduplication id the message id. docs/sqs.md.

import { z } from "zod";
import { utf8Length } from "../shared/bytes";
import { hex, sha256 } from "../shared/encoding";
import { reservedIdProblem, sortableId } from "../shared/ids";
import {
  DEFAULT_PRIORITY,
  MAX_DELAY_SECONDS,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  MAX_WAIT_SECONDS,
  MIN_VISIBILITY_TIMEOUT_SECONDS,
  SQS_MAX_BATCH_BYTES as MAX_BATCH_BYTES,
  SQS_MAX_MESSAGE_BYTES as MAX_MESSAGE_BYTES,
  SQS_MAX_RECEIVE_MESSAGES as MAX_RECEIVE_MESSAGES,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from "../shared/limits";
import type { NewMessage } from "../shared/partition-api";
import { enforceRateLimit } from "./access";
import { isFifoName } from "./attributes";
import { checkBatch, failedEntry, operation, type SqsCall } from "./call";
import { SqsError, invalidParameter, missingParameter } from "./errors";
import {
  ATTRIBUTES_HEADER,
  attributesFromHeaders,
  checkMessageAttributes,
  invalidCharacter,
  md5OfAttributes,
  md5OfBody,
  selectAttributes,
  storedAttributes,
  type MessageAttributes,
} from "./message-attributes";
import { requireQueue } from "./queues";
import { receiveFrom, send, settleReceipts, type Queue, type Settlement, type SettleOutcome } from "./weir";

/** FIFO ids (group and deduplication): 1 to 128 printable ASCII characters. */
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

const AttributeValue = z.object({ DataType: z.string(), StringValue: z.string().optional(), BinaryValue: z.string().optional() });
const MessageEntry = z.object({
  MessageBody: z.string(),
  DelaySeconds: z.number().int().optional(),
  MessageAttributes: z.record(z.string(), AttributeValue).optional(),
  // AWSTraceHeader: accepted and not kept (docs/sqs.md).
  MessageSystemAttributes: z.record(z.string(), AttributeValue).optional(),
  MessageDeduplicationId: z.string().optional(),
  MessageGroupId: z.string().optional(),
});
type MessageEntry = z.infer<typeof MessageEntry>;

interface Prepared {
  message: NewMessage;
  /** Body and attributes, in bytes, as SQS counts a message's size. */
  size: number;
  md5OfBody: string;
  md5OfAttributes: string | null;
}

/** Checks one message of SendMessage(Batch) and prepares it for a partition. Throws SqsError. */
async function prepare(queue: Queue, entry: MessageEntry): Promise<Prepared> {
  const body = entry.MessageBody;
  if (body === "") throw missingParameter("MessageBody");
  const bad = invalidCharacter(body);
  if (bad) {
    throw new SqsError(
      "InvalidMessageContents",
      `Invalid binary character '${bad}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`,
    );
  }
  const attributes: MessageAttributes = entry.MessageAttributes ?? {};
  const size = utf8Length(body) + checkMessageAttributes(attributes, "MessageAttributes");
  if (size > MAX_MESSAGE_BYTES) {
    throw invalidParameter("MessageBody", `(${size} bytes)`, `Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
  }
  const fifo = isFifoName(queue.topic.name);
  let id: string;
  let key: string | null = entry.MessageGroupId ?? null;
  if (key !== null && !FIFO_ID.test(key)) {
    throw invalidParameter("MessageGroupId", key, "MessageGroupId can contain 1 to 128 printable ASCII characters.");
  }
  if (fifo) {
    if (key === null) throw missingParameter("MessageGroupId");
    if (entry.DelaySeconds) {
      throw invalidParameter("DelaySeconds", entry.DelaySeconds, "The request include parameter that is not valid for this queue type.");
    }
    const dedup = entry.MessageDeduplicationId;
    if (dedup !== undefined && (!FIFO_ID.test(dedup) || reservedIdProblem(dedup))) {
      throw invalidParameter("MessageDeduplicationId", dedup, "MessageDeduplicationId can contain 1 to 128 printable ASCII characters.");
    }
    if (dedup === undefined && !queue.settings.contentBasedDeduplication) {
      throw invalidParameter(
        "MessageDeduplicationId",
        "",
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
      );
    }
    id = dedup ?? hex(await sha256(body));
  } else {
    if (entry.MessageDeduplicationId !== undefined) {
      throw invalidParameter("MessageDeduplicationId", entry.MessageDeduplicationId, "The request include parameter that is not valid for this queue type.");
    }
    id = sortableId();
  }
  const delaySeconds = entry.DelaySeconds ?? queue.topic.defaultDelaySeconds;
  if (delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
    throw invalidParameter("DelaySeconds", delaySeconds, `DelaySeconds must be from 0 to ${MAX_DELAY_SECONDS}.`);
  }
  const hasAttributes = Object.keys(attributes).length > 0;
  return {
    message: {
      id,
      idFromProducer: fifo,
      key,
      headers: hasAttributes ? JSON.stringify({ [ATTRIBUTES_HEADER]: storedAttributes(attributes) }) : null,
      body: JSON.stringify(body),
      priority: DEFAULT_PRIORITY,
      delayMs: delaySeconds * 1000,
      ttlMs: null,
    },
    size,
    md5OfBody: md5OfBody(body),
    md5OfAttributes: hasAttributes ? md5OfAttributes(attributes) : null,
  };
}

/** A FIFO message's SequenceNumber: its place in the queue, as a decimal string. */
function sequenceNumber(partition: number, offset: number): string {
  return (BigInt(partition) * 10n ** 15n + BigInt(offset)).toString();
}

function sent(queue: Queue, p: Prepared, produced: { id: string; partition: number; offset: number }) {
  return {
    MessageId: produced.id,
    MD5OfMessageBody: p.md5OfBody,
    ...(p.md5OfAttributes ? { MD5OfMessageAttributes: p.md5OfAttributes } : {}),
    ...(isFifoName(queue.topic.name) ? { SequenceNumber: sequenceNumber(produced.partition, produced.offset) } : {}),
  };
}

export const sendMessage = operation(MessageEntry.extend({ QueueUrl: z.string() }), async (call, input) => {
  const queue = await requireQueue(call, input.QueueUrl, ["produce"]);
  await enforceRateLimit(call.env, call.principal, "produce");
  const prepared = await prepare(queue, input);
  const [produced] = await send(call.env, queue, [prepared.message]);
  return sent(queue, prepared, produced!);
});

export const sendMessageBatch = operation(
  z.object({ QueueUrl: z.string(), Entries: z.array(MessageEntry.extend({ Id: z.string() })) }),
  async (call, input) => {
    checkBatch(input.Entries, "SendMessageBatchRequestEntry");
    const queue = await requireQueue(call, input.QueueUrl, ["produce"]);
    await enforceRateLimit(call.env, call.principal, "produce");
    const outcomes = await Promise.all(
      input.Entries.map((entry) =>
        prepare(queue, entry).then(
          (prepared) => ({ id: entry.Id, prepared }),
          (error: unknown) => {
            if (error instanceof SqsError) return { id: entry.Id, error };
            throw error;
          },
        ),
      ),
    );
    const good = outcomes.flatMap((o) => ("prepared" in o ? [o] : []));
    const total = good.reduce((n, o) => n + o.prepared.size, 0);
    if (total > MAX_BATCH_BYTES) {
      throw new SqsError("BatchRequestTooLong", `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`);
    }
    const produced = good.length > 0 ? await send(call.env, queue, good.map((o) => o.prepared.message)) : [];
    return {
      Successful: good.map((o, i) => ({ Id: o.id, ...sent(queue, o.prepared, produced[i]!) })),
      Failed: outcomes.flatMap((o) => ("error" in o ? [failedEntry(o.id, o.error)] : [])),
    };
  },
);

const SYSTEM_ATTRIBUTES = [
  "ApproximateReceiveCount",
  "SentTimestamp",
  "ApproximateFirstReceiveTimestamp",
  "MessageGroupId",
  "MessageDeduplicationId",
  "SequenceNumber",
] as const;

export const receiveMessage = operation(
  z.object({
    QueueUrl: z.string(),
    MaxNumberOfMessages: z.number().int().min(1).max(MAX_RECEIVE_MESSAGES).optional(),
    VisibilityTimeout: z.number().int().min(0).max(MAX_VISIBILITY_TIMEOUT_SECONDS).optional(),
    WaitTimeSeconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional(),
    AttributeNames: z.array(z.string()).optional(),
    MessageSystemAttributeNames: z.array(z.string()).optional(),
    MessageAttributeNames: z.array(z.string()).optional(),
    ReceiveRequestAttemptId: z.string().optional(),
  }),
  async (call, input) => {
    const queue = await requireQueue(call, input.QueueUrl, ["consume"]);
    await enforceRateLimit(call.env, call.principal, "receive");
    const visibilitySeconds = input.VisibilityTimeout ?? queue.subscription.visibilityTimeoutSeconds;
    const received = await receiveFrom(call.env, queue, {
      max: input.MaxNumberOfMessages ?? 1,
      // Weir leases for at least a second (docs/sqs.md).
      visibilityMs: Math.max(MIN_VISIBILITY_TIMEOUT_SECONDS, visibilitySeconds) * 1000,
      waitMs: (input.WaitTimeSeconds ?? queue.settings.receiveWaitSeconds) * 1000,
      signal: call.signal,
      background: (work) => call.ctx.waitUntil(work),
    });
    if (received.length === 0) return {};
    const now = Date.now();
    const fifo = isFifoName(queue.topic.name);
    const systemNames = new Set([...(input.AttributeNames ?? []), ...(input.MessageSystemAttributeNames ?? [])]);
    const allSystem = systemNames.has("All");
    return {
      Messages: received.map(({ message: m, partition, receipt }) => {
        const stored: unknown = JSON.parse(m.body);
        // A message a REST producer sent with a body other than a string reads as its JSON text.
        const body = typeof stored === "string" ? stored : m.body;
        const system: Record<(typeof SYSTEM_ATTRIBUTES)[number], string | null> = {
          ApproximateReceiveCount: String(m.attempt),
          SentTimestamp: String(m.producedAt),
          // Weir keeps no first-receive time: the first receive's is now; a later one answers its own (docs/sqs.md).
          ApproximateFirstReceiveTimestamp: String(now),
          MessageGroupId: m.key,
          MessageDeduplicationId: fifo ? m.id : null,
          SequenceNumber: fifo ? sequenceNumber(m.originPartition ?? partition, m.originOffset ?? m.offset) : null,
        };
        const attributes: Record<string, string> = {};
        for (const name of SYSTEM_ATTRIBUTES) {
          const value = system[name];
          if ((allSystem || systemNames.has(name)) && value !== null) attributes[name] = value;
        }
        const messageAttributes = selectAttributes(attributesFromHeaders(m.headers), input.MessageAttributeNames ?? []);
        const hasAttributes = Object.keys(messageAttributes).length > 0;
        return {
          MessageId: m.id,
          ReceiptHandle: receipt,
          MD5OfBody: md5OfBody(body),
          Body: body,
          ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
          ...(hasAttributes ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: md5OfAttributes(messageAttributes) } : {}),
        };
      }),
    };
  },
);

/** The SQS error for a receipt the settle fan-out refused. */
function receiptError(receipt: string, outcome: Exclude<SettleOutcome, { ok: true }>, action: Settlement["kind"]): SqsError {
  switch (outcome.code) {
    case "receipt_stale":
      return invalidParameter("ReceiptHandle", receipt, "The receipt handle has expired.");
    case "not_in_flight":
      return action === "ack"
        ? new SqsError("ReceiptHandleIsInvalid", `The input receipt handle "${receipt}" is not a valid receipt handle.`)
        : new SqsError("MessageNotInflight", "Message does not exist or is not available for visibility timeout change.");
    case "unavailable":
      return new SqsError("ServiceUnavailable", "A partition of the queue is unavailable; retry.", UNAVAILABLE_RETRY_AFTER_SECONDS);
    default:
      return new SqsError("ReceiptHandleIsInvalid", `The input receipt handle "${receipt}" is not a valid receipt handle.`);
  }
}

/** Settles each receipt (several settlements at once, grouped by kind and value); an error or null each, in order. */
async function settleEach(call: SqsCall, queue: Queue, items: { receipt: string; action: Settlement }[]): Promise<(SqsError | null)[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const group = JSON.stringify(item.action);
    groups.set(group, [...(groups.get(group) ?? []), i]);
  });
  const errors: (SqsError | null)[] = new Array(items.length).fill(null);
  await Promise.all(
    [...groups.values()].map(async (positions) => {
      const action = items[positions[0]!]!.action;
      const outcomes = await settleReceipts(call.env, queue, positions.map((i) => items[i]!.receipt), action);
      outcomes.forEach((outcome, j) => {
        const i = positions[j]!;
        if (!outcome.ok) errors[i] = receiptError(items[i]!.receipt, outcome, action.kind);
      });
    }),
  );
  return errors;
}

/** What ChangeMessageVisibility does: 0 gives the message back now, more sets the lease anew. */
function visibilityChange(seconds: number): Settlement {
  return seconds === 0 ? { kind: "nack", delayMs: 0 } : { kind: "extend", visibilityMs: seconds * 1000 };
}

const VisibilityTimeout = z.number().int().min(0).max(MAX_VISIBILITY_TIMEOUT_SECONDS);

export const deleteMessage = operation(z.object({ QueueUrl: z.string(), ReceiptHandle: z.string() }), async (call, input) => {
  const queue = await requireQueue(call, input.QueueUrl, ["consume"]);
  const [error] = await settleEach(call, queue, [{ receipt: input.ReceiptHandle, action: { kind: "ack" } }]);
  if (error) throw error;
  return {};
});

export const changeMessageVisibility = operation(
  z.object({ QueueUrl: z.string(), ReceiptHandle: z.string(), VisibilityTimeout }),
  async (call, input) => {
    const queue = await requireQueue(call, input.QueueUrl, ["consume"]);
    const [error] = await settleEach(call, queue, [{ receipt: input.ReceiptHandle, action: visibilityChange(input.VisibilityTimeout) }]);
    if (error) throw error;
    return {};
  },
);

async function settleBatch(call: SqsCall, queueUrlText: string, entries: { Id: string; ReceiptHandle: string; action: Settlement }[]) {
  const queue = await requireQueue(call, queueUrlText, ["consume"]);
  const errors = await settleEach(call, queue, entries.map((e) => ({ receipt: e.ReceiptHandle, action: e.action })));
  return {
    Successful: entries.flatMap((e, i) => (errors[i] ? [] : [{ Id: e.Id }])),
    Failed: entries.flatMap((e, i) => (errors[i] ? [failedEntry(e.Id, errors[i]!)] : [])),
  };
}

export const deleteMessageBatch = operation(
  z.object({ QueueUrl: z.string(), Entries: z.array(z.object({ Id: z.string(), ReceiptHandle: z.string() })) }),
  async (call, input) => {
    checkBatch(input.Entries, "DeleteMessageBatchRequestEntry");
    return settleBatch(call, input.QueueUrl, input.Entries.map((e) => ({ ...e, action: { kind: "ack" } })));
  },
);

export const changeMessageVisibilityBatch = operation(
  z.object({
    QueueUrl: z.string(),
    Entries: z.array(z.object({ Id: z.string(), ReceiptHandle: z.string(), VisibilityTimeout })),
  }),
  async (call, input) => {
    checkBatch(input.Entries, "ChangeMessageVisibilityBatchRequestEntry");
    return settleBatch(call, input.QueueUrl, input.Entries.map((e) => ({ ...e, action: visibilityChange(e.VisibilityTimeout) })));
  },
);
