import { createRoute, z } from "@hono/zod-openapi";
import { produce } from "../routing/produce";
import { largestStoredRowBytes, mayPassRowLimit, storedMessageBytes, utf8Length } from "../shared/bytes";
import { reservedIdProblem, sortableId } from "../shared/ids";
import type { TopicRecord } from "../catalog/records";
import { cancelMessage } from "../routing/admin";
import { findMessage } from "../routing/observe";
import { DEFAULT_PRIORITY, MAX_DELAY_SECONDS, MAX_MESSAGE_BODY_BYTES, MAX_STORED_MESSAGE_BYTES } from "../shared/limits";
import type { NewMessage } from "../shared/partition-api";
import { ApiError, invalidField } from "./errors";
import { requireTopic, type App } from "./context";
import { commonErrors, conflict, jsonBody, jsonResponse, notFound, tooLarge } from "./responses";
import { TopicParams } from "./schemas/common";
import { MessageParams, type MessageInput, ProduceBody, ProduceResponse, TraceQuery, TraceResponse } from "./schemas/messages";

const produceRoute = createRoute({
  method: "post",
  path: "/v1/topics/{topic}/messages",
  tags: ["Messages"],
  summary: "Produce a batch of messages",
  description:
    "Stores every message, or none is acknowledged: a 2xx answer means each message of the batch is durably stored. " +
    "A message with a key goes to partition fnv1a32(key) % partitions; see docs/api.md.",
  request: { params: TopicParams, body: jsonBody(ProduceBody) },
  responses: {
    200: jsonResponse(ProduceResponse, "Where each message was stored, in request order"),
    ...commonErrors,
    ...notFound,
    ...tooLarge,
  },
});

/**
 * Validates what zod cannot (serialized sizes, delay fields together) and prepares the
 * messages for a partition. `topic` gives the default delay.
 */
export function toNewMessages(inputs: readonly z.infer<typeof MessageInput>[], topic: TopicRecord): NewMessage[] {
  const now = Date.now();
  return inputs.map((m, i) => {
    if (m.body === undefined) throw invalidField(`messages[${i}].body`, "is required (any JSON value)");
    const reserved = m.id === undefined ? null : reservedIdProblem(m.id);
    if (reserved) throw invalidField(`messages[${i}].id`, reserved);
    const body = serialized(m.body, i);
    const bytes = utf8Length(body);
    if (bytes > MAX_MESSAGE_BODY_BYTES) {
      throw new ApiError(
        "message_too_large",
        `messages[${i}].body: message body of ${bytes} bytes exceeds the limit of ${MAX_MESSAGE_BODY_BYTES} bytes`,
        [{ path: `messages[${i}].body`, message: "too large" }],
      );
    }
    const headers = m.headers && Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : null;
    const id = m.id ?? sortableId();
    const parts = { id, key: m.key ?? null, headers, body };
    const storedBytes = storedMessageBytes(parts, bytes);
    const stored = mayPassRowLimit(storedBytes, MAX_STORED_MESSAGE_BYTES) ? largestStoredRowBytes(parts) : 0;
    if (stored > MAX_STORED_MESSAGE_BYTES) {
      throw new ApiError(
        "message_too_large",
        `messages[${i}]: stored with its headers (escaped) the message takes ${stored} bytes, over the limit of ${MAX_STORED_MESSAGE_BYTES}`,
        [{ path: `messages[${i}]`, message: "too large once stored" }],
      );
    }
    return {
      id,
      idFromProducer: m.id !== undefined,
      key: m.key ?? null,
      headers,
      body,
      priority: m.priority ?? DEFAULT_PRIORITY,
      delayMs: delayMs(m, i, topic, now),
      ttlMs: m.ttl_seconds === undefined ? null : m.ttl_seconds * 1000,
      bytes: storedBytes,
    };
  });
}

/** The body as stored (JSON text); a value nested too deeply to serialize is the client's fault. */
function serialized(body: unknown, i: number): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    if (error instanceof RangeError) throw invalidField(`messages[${i}].body`, "is nested too deeply");
    throw error;
  }
}

function delayMs(m: z.infer<typeof MessageInput>, i: number, topic: TopicRecord, now: number): number {
  if (m.deliver_at !== undefined) {
    if (m.delay_seconds !== undefined) {
      throw invalidField(`messages[${i}].deliver_at`, "give either delay_seconds or deliver_at, not both");
    }
    const ms = Date.parse(m.deliver_at) - now;
    if (ms > MAX_DELAY_SECONDS * 1000) {
      throw invalidField(`messages[${i}].deliver_at`, `must be at most ${MAX_DELAY_SECONDS} seconds (365 days) ahead`);
    }
    return Math.max(0, ms);
  }
  return (m.delay_seconds ?? topic.defaultDelaySeconds) * 1000;
}

const cancelRoute = createRoute({
  method: "delete",
  path: "/v1/topics/{topic}/messages/{id}",
  tags: ["Messages"],
  summary: "Cancel a message that no subscription has received yet",
  description: "Typically a scheduled (delayed) message. It is never delivered.",
  request: { params: MessageParams },
  responses: {
    204: { description: "Cancelled" },
    ...commonErrors,
    ...notFound,
    ...conflict,
  },
});

const traceRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/messages/{id}",
  tags: ["Observability"],
  summary: "A message, its state per subscription, and its trace",
  description:
    "With ?key= only the key's partition is asked; with ?partition= that one first. Otherwise every partition is " +
    "asked, 8 at a time, until a wave finds it. Weir-Partition-Calls says how many were asked. " +
    "Events whose time storage does not keep (a lease's start, an ack) have `at: null`.",
  request: { params: MessageParams, query: TraceQuery },
  responses: {
    200: jsonResponse(TraceResponse, "The message and its trace"),
    ...commonErrors,
    404: { description: "Unknown topic, or message_not_found (never produced, or past retention)" },
  },
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The produce, cancel and trace routes. */
export function registerMessageRoutes(app: App): void {
  app.openapi(produceRoute, async (c) => {
    const { topic: name } = c.req.valid("param");
    const { messages } = c.req.valid("json");
    const topic = await requireTopic(c.env, name);
    const prepared = toNewMessages(messages, topic);
    const produced = await produce(c.env, topic, prepared);
    return c.json(
      {
        results: produced.map((p) => ({
          id: p.id,
          partition: p.partition,
          offset: p.offset,
          duplicate: p.duplicate,
        })),
      },
      200,
    );
  });

  app.openapi(cancelRoute, async (c) => {
    const { topic: name, id } = c.req.valid("param");
    const topic = await requireTopic(c.env, name);
    const result = await cancelMessage(c.env, topic, id);
    if (result === "delivered") {
      throw new ApiError("message_delivered", `message ${id} was already received by a subscription; it can no longer be cancelled`);
    }
    if (result === "not_found") throw new ApiError("message_not_found", `topic ${name} has no message ${id}`);
    return c.body(null, 204);
  });

  app.openapi(traceRoute, async (c) => {
    const { topic: name, id } = c.req.valid("param");
    const query = c.req.valid("query");
    const topic = await requireTopic(c.env, name);
    if (query.partition !== undefined && query.partition >= topic.partitions) {
      throw invalidField("partition", `the topic has partitions 0 to ${topic.partitions - 1}`);
    }
    const found = await findMessage(c.env, topic, id, { key: query.key ?? null, partition: query.partition ?? null });
    if (!found) throw new ApiError("message_not_found", `topic ${name} has no message ${id} (or it is past retention)`);
    const { trace, names } = found;
    c.header("Weir-Partition-Calls", String(found.calls));
    const named = (uid: string | null) => (uid === null ? undefined : names.get(uid));
    return c.json(
      {
        message: {
          id: trace.id,
          key: trace.key,
          headers: trace.headers ? (JSON.parse(trace.headers) as Record<string, string>) : {},
          body: JSON.parse(trace.body) as unknown,
          partition: found.partition,
          offset: trace.offset,
          produced_at: iso(trace.producedAt),
          state: trace.state,
          ...(trace.transactionId === undefined ? {} : { transaction_id: trace.transactionId }),
        },
        subscriptions: trace.subscriptions.flatMap((s) => {
          const subscription = names.get(s.uid);
          return subscription === undefined ? [] : [{ name: subscription, state: s.state, attempts: s.attempts }];
        }),
        // Events of subscriptions the catalog no longer has are left out.
        trace: trace.events
          .filter((e) => e.subscriptionUid === null || names.has(e.subscriptionUid))
          .map((e) => ({
            at: e.at === null ? null : iso(e.at),
            event: e.event,
            ...(e.subscriptionUid === null ? {} : { subscription: named(e.subscriptionUid) }),
            ...(e.attempt === null ? {} : { attempt: e.attempt }),
            ...(e.detail === null ? {} : { detail: e.detail }),
          })),
      },
      200,
    );
  });
}
