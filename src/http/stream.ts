import { createRoute } from "@hono/zod-openapi";
import type { z } from "@hono/zod-openapi";
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import { RoutingFailure } from "../routing/failures";
import { subscriptionDoorbell, subscriptionPartitions, type PartitionHandle } from "../routing/handles";
import { receive, reportArmed, type ObjectCalls } from "../routing/receive";
import { StreamSeats } from "../routing/seats";
import { ensureSubscriptionSpec } from "../routing/specs";
import type { ArmReport, SubscriptionSpec } from "../shared/partition-api";
import { STREAM_LINE_MESSAGES } from "../shared/limits";
import { requireSubscription, type App } from "./context";
import { deliveriesJson } from "./deliveries";
import { ApiError, routingError, subscriptionNotFound } from "./errors";
import { commonErrors, jsonBody, notFound } from "./responses";
import { SubscriptionParams } from "./schemas/common";
import { StreamBody, StreamLine } from "./schemas/consume";

const streamRoute = createRoute({
  method: "post",
  path: "/v1/topics/{topic}/subscriptions/{subscription}/stream",
  tags: ["Consume"],
  summary: "Stream messages as they arrive",
  description:
    "One long response (newline-delimited JSON) that delivers messages the moment they become deliverable, leased " +
    "as a receive leases them, until max_messages have been delivered or wait_seconds have passed. It saves the " +
    "request a long poll makes per batch. Acknowledge with POST ack (in batches). A message written to a stream " +
    "whose client has gone is delivered again when its lease ends.",
  request: { params: SubscriptionParams, body: jsonBody(StreamBody) },
  responses: {
    200: { description: "One StreamLine per line", content: { "application/x-ndjson": { schema: StreamLine } } },
    ...commonErrors,
    ...notFound,
  },
});

/** What one stream reads, and how it learns that its client has gone. */
interface StreamSource {
  env: Env;
  names: { topic: string; subscription: string };
  request: z.infer<typeof StreamBody>;
  /** Aborted when the client closed the connection or stopped reading. */
  gone: AbortController;
  background: (work: Promise<unknown>) => void;
  /** Whether the caller's key still holds; a revoked key's stream ends at its next pass. */
  stillAuthorized: () => Promise<boolean>;
}

/** The subscription as a pass of the stream leases from it. */
interface Subscribed {
  topic: TopicRecord;
  subscription: SubscriptionRecord;
  spec: SubscriptionSpec;
}

/** POST …/stream: the push counterpart of receive (docs/api.md, "Consume"). */
export function registerStreamRoutes(app: App): void {
  app.openapi(streamRoute, async (c) => {
    const params = c.req.valid("param");
    const request = c.req.valid("json");
    // Refused before the stream starts, as an ordinary JSON error.
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const first: Subscribed = { topic, subscription, spec: await ensureSubscriptionSpec(c.env, topic, subscription) };
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const gone = new AbortController();
    c.req.raw.signal.addEventListener("abort", () => gone.abort());
    writer.closed.catch(() => gone.abort());
    const source: StreamSource = {
      env: c.env,
      names: { topic: params.topic, subscription: params.subscription },
      request,
      gone,
      background: (work) => c.executionCtx.waitUntil(work),
      stillAuthorized: c.get("stillAuthorized"),
    };
    // Not awaited, and not in waitUntil: the response's body keeps the request alive while it
    // is written, and a write waits for the client to read (back-pressure).
    void pump(source, first, writer);
    return c.body(readable, 200, { "content-type": "application/x-ndjson", "cache-control": "no-store" }) as never;
  });
}

const encoder = new TextEncoder();

/**
 * Leases and writes lines until the stream is done: max_messages delivered, wait_seconds over,
 * the client gone, or a failure (an `error` line). The stream waits on seats (routing/seats.ts:
 * each partition leases for it the moment it has messages); its last few messages, which cannot
 * be promised to every partition, and a stream of one pass (wait_seconds 0) go the doorbell's
 * way (routing/receive.ts), a pass at a time. A wait that brings nothing for heartbeat_seconds
 * writes an empty line, so that idle connections are not cut by proxies. Each line reads the
 * subscription again (from the catalog's cache): a surge that starts or ends meanwhile changes
 * the partitions and the doorbell, and a subscription deleted meanwhile ends the stream.
 */
async function pump(source: StreamSource, first: Subscribed, writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
  const { env, request, gone } = source;
  const signal = gone.signal;
  const calls: ObjectCalls = { partitions: 0, doorbell: 0 };
  const deadline = Date.now() + request.wait_seconds * 1000;
  const filter = request.filter?.headers ?? null;
  // A failed write means the client has gone: say so at once (writer.closed tells it later).
  const write = async (line: string): Promise<void> => {
    try {
      await writer.write(encoder.encode(`${line}\n`));
    } catch (error) {
      gone.abort();
      throw error;
    }
  };
  let current = first;
  const visibilityMs = (): number => (request.visibility_timeout_seconds ?? current.subscription.visibilityTimeoutSeconds) * 1000;
  let seats: StreamSeats | null = request.wait_seconds > 0 ? new StreamSeats({ visibilityMs: visibilityMs(), filter }, calls) : null;
  let doorbell = subscriptionDoorbell(env, current.topic, current.subscription);
  // What each doorbell pass left empty, handed to the doorbell by the next pass's wait.
  let unreported: ArmReport[] = [];
  let left = request.max_messages;
  let partitions: PartitionSet | null = null;
  try {
    for (;;) {
      if (!(await source.stillAuthorized())) throw new ApiError("unauthorized", "the API key was revoked while the stream ran");
      current = await refresh(env, source.names, current);
      partitions = partitionsOf(env, current, partitions);
      const until = Math.min(deadline, Date.now() + request.heartbeat_seconds * 1000);
      let deliveries = seats ? await seats.next(partitions.handles, current.spec, left, until, deadline, signal) : null;
      if (seats && deliveries === null) {
        // Fewer messages left than seats: take them back (with what they leased meanwhile).
        const rest = await seats.leave(current.spec.uid);
        seats = null;
        deliveries = rest.length > 0 ? rest : null;
      }
      if (!deliveries) {
        const bell = subscriptionDoorbell(env, current.topic, current.subscription);
        // Reports name partitions of the old doorbell's set: a new one starts without them.
        if (bell.name !== doorbell.name) [doorbell, unreported] = [bell, []];
        deliveries = await receive(
          partitions.handles,
          doorbell,
          current.spec,
          { max: Math.min(STREAM_LINE_MESSAGES, left), visibilityMs: visibilityMs(), waitMs: Math.max(0, until - Date.now()), filter, signal, background: source.background, unreported },
          calls,
        );
      }
      if (signal.aborted) return;
      left -= deliveries.length;
      const done = left === 0 || Date.now() >= deadline;
      // What seats leased until they were taken back is delivered before the end.
      if (done && seats) {
        const rest = await seats.leave(current.spec.uid, left > 0 && Date.now() < deadline);
        deliveries.push(...rest);
        left -= rest.length;
        seats = null;
      }
      if (deliveries.length > 0 || !done) {
        await write(await deliveriesJson(env, current.topic, current.subscription, deliveries, null));
      }
      if (done) break;
    }
    reportArmed(doorbell, unreported, calls, source.background);
    const end = left === 0 ? "max_messages" : "wait_seconds";
    await write(JSON.stringify({ end, partition_calls: calls.partitions, doorbell_calls: calls.doorbell }));
    await writer.close();
  } catch (error) {
    // The client has gone: nobody to tell. Its seats are taken back, so that they lease no
    // more; what one leased in that moment is delivered again when its lease ends.
    if (signal.aborted) {
      if (seats) source.background(seats.leave(current.spec.uid).catch(() => []));
      return;
    }
    const known = error instanceof RoutingFailure ? routingError(error) : error;
    const failure = known instanceof ApiError ? known : new ApiError("internal", "the stream failed; open a new one");
    if (!(known instanceof ApiError)) console.error(JSON.stringify({ event: "stream_failed", message: String(error) }));
    const seated = seats;
    const last = async (): Promise<void> => {
      // What the seats leased before they were taken back is the client's: written before the error.
      const rest = seated ? await seated.leave(current.spec.uid) : [];
      if (rest.length > 0) await write(await deliveriesJson(env, current.topic, current.subscription, rest, null));
      await write(JSON.stringify({ error: { code: failure.code, message: failure.message } }));
      await writer.close();
    };
    await last().catch(() => undefined);
  }
}

/** The partitions a stream reads, and what they were made from. */
interface PartitionSet {
  /** The topic's partitions and the subscription's surge, as one string: equal when the set is. */
  shape: string;
  handles: PartitionHandle[];
}

/** The partitions of `current`: the same handles (and their stubs) as long as the set stays the same. */
function partitionsOf(env: Env, current: Subscribed, last: PartitionSet | null): PartitionSet {
  const { topic, subscription } = current;
  const shape = `${topic.uid}:${topic.partitions}:${subscription.surgeStartedAt}:${subscription.surgePartitions}`;
  return last?.shape === shape ? last : { shape, handles: subscriptionPartitions(env, topic, subscription) };
}

/**
 * The subscription as the catalog has it now (its surge state included). Its spec is resolved
 * again only when its settings changed; a subscription deleted or replaced since the stream
 * opened is not found.
 */
async function refresh(env: Env, names: StreamSource["names"], current: Subscribed): Promise<Subscribed> {
  const { topic, subscription } = await requireSubscription(env, names.topic, names.subscription);
  if (topic.uid !== current.topic.uid || subscription.uid !== current.subscription.uid) {
    throw subscriptionNotFound(names.topic, names.subscription);
  }
  const unchanged = topic.updatedAt === current.topic.updatedAt && subscription.updatedAt === current.subscription.updatedAt;
  return { topic, subscription, spec: unchanged ? current.spec : await ensureSubscriptionSpec(env, topic, subscription) };
}
