import { createRoute, type z } from "@hono/zod-openapi";
import { produce } from "../routing/produce";
import { utf8Length } from "../shared/bytes";
import { sortableId } from "../shared/ids";
import { DEFAULT_PRIORITY, MAX_MESSAGE_BODY_BYTES } from "../shared/limits";
import type { NewMessage } from "../shared/partition-api";
import { ApiError, invalidField } from "./errors";
import { requireTopic, type App } from "./context";
import { commonErrors, jsonBody, jsonResponse, notFound, tooLarge } from "./responses";
import { type MessageInput, ProduceBody, ProduceResponse, TopicParams } from "./schemas";

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

/** Validates what zod cannot (serialized sizes) and prepares the messages for a partition. */
export function toNewMessages(inputs: readonly z.infer<typeof MessageInput>[]): NewMessage[] {
  return inputs.map((m, i) => {
    if (m.body === undefined) throw invalidField(`messages[${i}].body`, "is required (any JSON value)");
    const body = JSON.stringify(m.body);
    const bytes = utf8Length(body);
    if (bytes > MAX_MESSAGE_BODY_BYTES) {
      throw new ApiError(
        "message_too_large",
        `messages[${i}].body: message body of ${bytes} bytes exceeds the limit of ${MAX_MESSAGE_BODY_BYTES} bytes`,
        [{ path: `messages[${i}].body`, message: "too large" }],
      );
    }
    const headers = m.headers && Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : null;
    return {
      id: m.id ?? sortableId(),
      idFromProducer: m.id !== undefined,
      key: m.key ?? null,
      headers,
      body,
      priority: m.priority ?? DEFAULT_PRIORITY,
      delayMs: (m.delay_seconds ?? 0) * 1000,
    };
  });
}

/** The produce route. */
export function registerMessageRoutes(app: App): void {
  app.openapi(produceRoute, async (c) => {
    const { topic: name } = c.req.valid("param");
    const { messages } = c.req.valid("json");
    const prepared = toNewMessages(messages);
    const topic = await requireTopic(c.env, name);
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
}
