import { createRoute } from "@hono/zod-openapi";
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { Partition } from "../partition/partition";
import {
  receiptPartition,
  resolveSubscriptionSpec,
  subscriptionDoorbell,
  subscriptionPartitions,
  type PartitionHandle,
} from "../routing/partitions";
import { receive, type ObjectCalls } from "../routing/receive";
import { decodeReceipts } from "../shared/receipt";
import type { NackOptions, ReceiptOutcome, ReceiptRef } from "../shared/partition-api";
import { requireSubscription, type App } from "./context";
import { deliveriesJson, type ItemResult } from "./deliveries";
import { commonErrors, jsonBody, jsonResponse, notFound } from "./responses";
import {
  AckBody,
  ExtendBody,
  NackBody,
  ReceiptResults,
  ReceiveBody,
  ReceiveResponse,
  SubscriptionParams,
} from "./schemas";

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
 * Decodes receipts, refuses per item those that are not for this subscription, and applies
 * `apply` per partition. Results keep the request's order.
 */
async function settle(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  receipts: readonly string[],
  apply: (stub: DurableObjectStub<Partition>, refs: ReceiptRef[]) => Promise<ReceiptOutcome[]>,
): Promise<ItemResult[]> {
  const results: ItemResult[] = new Array(receipts.length);
  const byPartition = new Map<number, { handle: PartitionHandle; positions: number[]; refs: ReceiptRef[] }>();
  const decoded = await decodeReceipts(env, receipts);
  receipts.forEach((token, i) => {
    const r = decoded[i] ?? null;
    const handle = r ? receiptPartition(env, topic, subscription, r.partition) : null;
    if (!r || !handle) {
      results[i] = { receipt: token, ok: false, error: { code: "receipt_invalid", message: "not a receipt of this service" } };
    } else if (r.topicUid !== topic.uid || r.subscriptionUid !== subscription.uid) {
      results[i] = {
        receipt: token,
        ok: false,
        error: { code: "receipt_mismatch", message: "the receipt belongs to another topic or subscription" },
      };
    } else {
      let group = byPartition.get(r.partition);
      if (!group) byPartition.set(r.partition, (group = { handle, positions: [], refs: [] }));
      group.positions.push(i);
      group.refs.push({ offset: r.offset, nonce: r.nonce });
    }
  });
  await Promise.all(
    [...byPartition.values()].map(async ({ handle, positions, refs }) => {
      let outcomes: ReceiptOutcome[];
      try {
        outcomes = await apply(handle.stub, refs);
      } catch (error) {
        console.error(JSON.stringify({ event: "partition_call_failed", message: String(error) }));
        positions.forEach((i) => {
          results[i] = {
            receipt: receipts[i]!,
            ok: false,
            error: { code: "unavailable", message: "the partition is unavailable; retry this receipt" },
          };
        });
        return;
      }
      positions.forEach((i, j) => {
        const outcome = outcomes[j]!;
        results[i] = outcome.ok
          ? { receipt: receipts[i]!, ok: true }
          : { receipt: receipts[i]!, ok: false, error: { code: outcome.code, message: outcome.message } };
      });
    }),
  );
  return results;
}

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
    const spec = await resolveSubscriptionSpec(c.env, topic, subscription);
    const calls: ObjectCalls = { partitions: 0, doorbell: 0 };
    // Acks first: in an ordered subscription they free the next messages of their keys.
    const acked = body.ack?.length
      ? await settle(c.env, topic, subscription, body.ack, (stub, refs) => {
          calls.partitions++;
          return stub.ack(subscription.uid, refs);
        })
      : null;
    const partitions = subscriptionPartitions(c.env, topic, subscription);
    const options = {
      max: body.max_messages,
      visibilityMs: (body.visibility_timeout_seconds ?? subscription.visibilityTimeoutSeconds) * 1000,
      waitMs: body.wait_seconds * 1000,
      filter: body.filter?.headers ?? null,
      signal: c.req.raw.signal,
      background: (work: Promise<unknown>) => c.executionCtx.waitUntil(work),
    };
    const deliveries = await receive(partitions, subscriptionDoorbell(c.env, topic, subscription), spec, options, calls);
    return rawJson(
      c.body(await deliveriesJson(c.env, topic, subscription, deliveries, acked), 200, {
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
    const results = await settle(c.env, topic, subscription, receipts, (stub, refs) => stub.ack(subscription.uid, refs));
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
    const results = await settle(c.env, topic, subscription, receipts, (stub, refs) =>
      stub.nack(subscription.uid, refs, options),
    );
    return c.json({ results }, 200);
  });

  app.openapi(extendRoute, async (c) => {
    const params = c.req.valid("param");
    const { receipts, visibility_timeout_seconds } = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const results = await settle(c.env, topic, subscription, receipts, (stub, refs) =>
      stub.extend(subscription.uid, refs, visibility_timeout_seconds * 1000),
    );
    return c.json({ results }, 200);
  });
}
