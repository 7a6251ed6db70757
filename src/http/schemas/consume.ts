// Receive, stream, ack, nack, extend.
import { z } from "@hono/zod-openapi";
import * as L from "../../shared/limits";
import { int } from "./common";

/** What a receive and a stream lease with: how long, and which messages. */
const leaseOptions = {
  visibility_timeout_seconds: int()
    .min(L.MIN_VISIBILITY_TIMEOUT_SECONDS)
    .max(L.MAX_VISIBILITY_TIMEOUT_SECONDS)
    .optional()
    .openapi({ description: "Defaults to the subscription's." }),
  filter: z
    .strictObject({
      headers: z
        .record(z.string().min(1).max(L.MAX_HEADER_NAME_LENGTH), z.string().max(L.MAX_HEADER_VALUE_LENGTH))
        .refine((h) => Object.keys(h).length >= 1 && Object.keys(h).length <= L.MAX_HEADER_FILTERS, {
          message: `give 1 to ${L.MAX_HEADER_FILTERS} headers`,
        }),
    })
    .optional()
    .openapi({
      description:
        "Lease only messages whose headers have all these values; the others stay deliverable to the subscription's other consumers.",
      example: { headers: { version: "2" } },
    }),
};

export const ReceiveBody = z
  .strictObject({
    max_messages: int().min(1).max(L.MAX_RECEIVE_MESSAGES).default(L.DEFAULT_RECEIVE_MESSAGES),
    wait_seconds: z.number().min(0).max(L.MAX_WAIT_SECONDS).default(L.DEFAULT_WAIT_SECONDS),
    ...leaseOptions,
    ack: z
      .array(z.string().min(1).max(L.MAX_RECEIPT_LENGTH))
      .max(L.MAX_RECEIPTS_PER_REQUEST)
      .optional()
      .openapi({
        description:
          "Receipts to acknowledge before leasing, as POST ack would: a consumer that acks its last batch with its next " +
          "receive saves a request per batch. Their results come back in `acked`, in order.",
      }),
  })
  .openapi("ReceiveRequest");

export const DeliveredMessage = z
  .object({
    id: z.string(),
    key: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    body: z.unknown(),
    priority: int(),
    partition: int(),
    offset: int(),
    produced_at: z.string().openapi({ format: "date-time" }),
    attempt: int().openapi({ description: "1 on the first delivery" }),
    receipt: z.string(),
  })
  .openapi("DeliveredMessage");

const Receipts = z.array(z.string().min(1).max(L.MAX_RECEIPT_LENGTH)).min(1).max(L.MAX_RECEIPTS_PER_REQUEST);

const ReceiptResult = z.union([
  z.object({ receipt: z.string(), ok: z.literal(true) }),
  z.object({
    receipt: z.string(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);

export const ReceiveResponse = z
  .object({
    messages: z.array(DeliveredMessage),
    acked: z
      .array(ReceiptResult)
      .optional()
      .openapi({ description: "With `ack` in the request: one result per receipt, in request order, as POST ack answers." }),
  })
  .openapi("ReceiveResponse");

export const StreamBody = z
  .strictObject({
    max_messages: int()
      .min(1)
      .max(L.MAX_STREAM_MESSAGES)
      .default(L.DEFAULT_STREAM_MESSAGES)
      .openapi({ description: "The stream ends once it has delivered this many messages." }),
    wait_seconds: z
      .number()
      .min(0)
      .max(L.MAX_STREAM_SECONDS)
      .default(L.DEFAULT_STREAM_SECONDS)
      .openapi({ description: "The stream ends after this long. 0 makes one pass: at most one line of what is deliverable now." }),
    heartbeat_seconds: z
      .number()
      .min(1)
      .max(L.MAX_STREAM_HEARTBEAT_SECONDS)
      .default(L.DEFAULT_STREAM_HEARTBEAT_SECONDS)
      .openapi({ description: "After this long without messages the stream writes an empty line, so that idle connections stay open." }),
    ...leaseOptions,
  })
  .openapi("StreamRequest");

export const StreamLine = z
  .union([
    z.object({ messages: z.array(DeliveredMessage) }).openapi({
      description: `Messages as they arrive, at most ${L.STREAM_LINE_MESSAGES} a line; an empty list is a heartbeat, sent after heartbeat_seconds without messages.`,
    }),
    z
      .object({
        end: z.enum(["max_messages", "wait_seconds"]),
        partition_calls: int().openapi({ description: "Calls the stream made to partition objects" }),
        doorbell_calls: int().openapi({ description: "Calls the stream made to its subscription's doorbell" }),
      })
      .openapi({ description: "The last line of a stream that ended normally: why, and what it cost." }),
    z
      .object({ error: z.object({ code: z.string(), message: z.string() }) })
      .openapi({ description: "The last line of a stream that failed after it started (e.g. `unavailable`): open a new one." }),
  ])
  .openapi("StreamLine");

export const AckBody = z.strictObject({ receipts: Receipts }).openapi("AckRequest");

export const NackBody = z
  .strictObject({
    receipts: Receipts,
    delay_seconds: int()
      .min(0)
      .max(L.MAX_DELAY_SECONDS)
      .optional()
      .openapi({ description: "Wait before the next attempt; default: the subscription's retry back-off." }),
    dead_letter: z
      .boolean()
      .optional()
      .openapi({ default: false, description: "Dead-letter at once (reason rejected) instead of trying again." }),
    reason: z
      .string()
      .max(L.MAX_HEADER_VALUE_LENGTH)
      .optional()
      .openapi({ description: "Why; a dead letter carries the last one in weir-nack-reason." }),
  })
  .openapi("NackRequest");

export const ExtendBody = z
  .strictObject({
    receipts: Receipts,
    visibility_timeout_seconds: int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS),
  })
  .openapi("ExtendRequest");

export const ReceiptResults = z.object({ results: z.array(ReceiptResult) }).openapi("ReceiptResults");
