import { createRoute } from "@hono/zod-openapi";
import { subscriptionDoorbell, subscriptionPartitions } from "../routing/handles";
import { receive, type CarriedAck, type Delivery, type ObjectCalls } from "../routing/receive";
import { planSettle, recordOutcomes, settle, settleGroup } from "../routing/settle";
import { ensureSubscriptionSpec } from "../routing/specs";
import type { NackOptions } from "../shared/partition-api";
import { requireSubscription, type App } from "./context";
import { deliveriesJson } from "./deliveries";
import { commonErrors, jsonBody, jsonResponse, notFound } from "./responses";
import { SubscriptionParams } from "./schemas/common";
import { AckBody, ExtendBody, NackBody, ReceiptResults, ReceiveBody, ReceiveResponse } from "./schemas/consume";

const tags = ["Consume"];
const base = "/v1/topics/{topic}/subscriptions/{subscription}";

const receiveRoute = createRoute({
  method: "post",
  path: `${base}/receive`,
  tags,
  summary: "Long-poll for messages",
  description:
    "Leases up to max_messages messages across the topic's partitions. Answers as soon as any is available, " +
    "or with an empty list when wait_seconds have passed. Each message stays invisible to the subscription's " +
    "other consumers until its lease ends (visibility timeout), then it is delivered again with attempt + 1.",
  request: { params: SubscriptionParams, body: jsonBody(ReceiveBody) },
  responses: {
    200: {
      ...jsonResponse(ReceiveResponse, "The leased messages"),
      headers: {
        "Weir-Partition-Calls": {
          description: "Calls this receive made to partition objects (each is a billed Durable Object request on Cloudflare)",
          schema: { type: "integer" },
        },
        "Weir-Doorbell-Calls": {
          description: "Calls this receive made to its subscription's doorbell object, where long polls wait",
          schema: { type: "integer" },
        },
      },
    },
    ...commonErrors,
    ...notFound,
  },
});

const receiptRoute = <S extends typeof AckBody | typeof NackBody | typeof ExtendBody>(
  action: string,
  summary: string,
  schema: S,
) =>
  createRoute({
    method: "post",
    path: `${base}/${action}`,
    tags,
    summary,
    request: { params: SubscriptionParams, body: jsonBody(schema) },
    responses: { 200: jsonResponse(ReceiptResults, "One result per receipt, in request order"), ...commonErrors, ...notFound },
  });

const ackRoute = receiptRoute("ack", "Acknowledge deliveries: the messages are done", AckBody);
const nackRoute = receiptRoute("nack", "Give deliveries back, to be delivered again now or after delay_seconds", NackBody);
const extendRoute = receiptRoute("extend", "Set leases to end visibility_timeout_seconds from now", ExtendBody);

/**
 * The receive answer is written as text (deliveriesJson) rather than through c.json, which would
 * parse and re-serialize every stored body; its shape is still ReceiveResponse.
 */
function rawJson(response: Response): never {
  return response as never;
}

/** Receive, ack, nack and extend. */
export function registerConsumeRoutes(app: App): void {
  app.openapi(receiveRoute, async (c) => {
    const params = c.req.valid("param");
    const body = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const spec = await ensureSubscriptionSpec(c.env, topic, subscription);
    const calls: ObjectCalls = { partitions: 0, doorbell: 0 };
    // Acks first: in an ordered subscription they free the next messages of their keys. Acks of
    // one partition ride on the receive's first lease there (one call for both); others are
    // applied before the receive starts.
    const partitions = subscriptionPartitions(c.env, topic, subscription);
    const plan = body.ack?.length ? await planSettle(c.env, topic, subscription, body.ack) : null;
    const only = plan?.groups.length === 1 ? plan.groups[0]! : null;
    const group = only && !body.filter && partitions.some((p) => p.index === only.handle.index) ? only : null;
    let carried = false;
    const ack: CarriedAck | undefined = group
      ? { index: group.handle.index, refs: group.refs, done: (outcomes) => ((carried = true), recordOutcomes(plan!, group, outcomes)) }
      : undefined;
    if (plan) {
      const rest = plan.groups.filter((g) => g !== group);
      await Promise.all(rest.map((g) => settleGroup(plan, g, subscription.uid, { kind: "ack" }, calls)));
    }
    const options = {
      max: body.max_messages,
      visibilityMs: (body.visibility_timeout_seconds ?? subscription.visibilityTimeoutSeconds) * 1000,
      waitMs: body.wait_seconds * 1000,
      filter: body.filter?.headers ?? null,
      signal: c.req.raw.signal,
      background: (work: Promise<unknown>) => c.executionCtx.waitUntil(work),
      ack,
    };
    let deliveries: Delivery[];
    try {
      deliveries = await receive(partitions, subscriptionDoorbell(c.env, topic, subscription), spec, options, calls);
    } finally {
      // Acks a receive did not carry (it failed before its first call) are applied on their own.
      if (group && !carried) await settleGroup(plan!, group, subscription.uid, { kind: "ack" }, calls);
    }
    return rawJson(
      c.body(await deliveriesJson(c.env, topic, subscription, deliveries, plan?.results ?? null), 200, {
        "content-type": "application/json",
        "weir-partition-calls": String(calls.partitions),
        "weir-doorbell-calls": String(calls.doorbell),
      }),
    );
  });

  app.openapi(ackRoute, async (c) => {
    const params = c.req.valid("param");
    const { receipts } = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const results = await settle(c.env, topic, subscription, receipts, { kind: "ack" });
    return c.json({ results }, 200);
  });

  app.openapi(nackRoute, async (c) => {
    const params = c.req.valid("param");
    const { receipts, delay_seconds, dead_letter, reason } = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const options: NackOptions = {
      delayMs: delay_seconds === undefined ? null : delay_seconds * 1000,
      deadLetter: dead_letter ?? false,
      reason: reason ?? null,
    };
    const results = await settle(c.env, topic, subscription, receipts, { kind: "nack", options });
    return c.json({ results }, 200);
  });

  app.openapi(extendRoute, async (c) => {
    const params = c.req.valid("param");
    const { receipts, visibility_timeout_seconds } = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const results = await settle(c.env, topic, subscription, receipts, {
      kind: "extend",
      visibilityMs: visibility_timeout_seconds * 1000,
    });
    return c.json({ results }, 200);
  });
}
