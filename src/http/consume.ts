import { createRoute, type z } from "@hono/zod-openapi";
import { Catalog } from "../catalog/catalog";
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { Partition } from "../partition/partition";
import {
  callPartition,
  partitionHandle,
  receiptPartition,
  resolveSubscriptionSpec,
  subscriptionPartitions,
  type PartitionHandle,
} from "../routing/partitions";
import { redrive } from "../routing/redrive";
import { receive, type Delivery } from "../routing/receive";
import { decodeReceipt, encodeReceipt } from "../shared/receipt";
import type { NackOptions, ReceiptOutcome, ReceiptRef, SeekTarget } from "../shared/partition-api";
import { ApiError, invalidField } from "./errors";
import { iso, requireSubscription, type App } from "./context";
import { commonErrors, jsonBody, jsonResponse, notFound } from "./responses";
import {
  AckBody,
  ExtendBody,
  NackBody,
  ReceiptResults,
  ReceiveBody,
  ReceiveResponse,
  RedriveBody,
  RedriveResponse,
  SeekBody,
  SeekResponse,
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
  responses: { 200: jsonResponse(ReceiveResponse, "The leased messages"), ...commonErrors, ...notFound },
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

const seekRoute = createRoute({
  method: "post",
  path: `${base}/seek`,
  tags,
  summary: "Replay from a point: earliest, latest, a time, or partition offsets",
  description:
    "Every retained message from the target on is delivered again (attempts start over); messages before it count as done. " +
    "Leases held at the time end, and their receipts are refused from then on.",
  request: { params: SubscriptionParams, body: jsonBody(SeekBody) },
  responses: { 200: jsonResponse(SeekResponse, "Where each partition now starts"), ...commonErrors, ...notFound },
});

const redriveRoute = createRoute({
  method: "post",
  path: `${base}/redrive`,
  tags,
  summary: "Move dead letters back to the subscription",
  description:
    "Each dead letter of this subscription (all, up to max, or only one reason) becomes deliverable to it again, " +
    "with fresh attempts; other subscriptions are not touched. Safe to repeat after a failure: nothing moves twice.",
  request: { params: SubscriptionParams, body: jsonBody(RedriveBody) },
  responses: { 200: jsonResponse(RedriveResponse, "How many moved"), ...commonErrors, ...notFound },
});

const ackRoute = receiptRoute("ack", "Acknowledge deliveries: the messages are done", AckBody);
const nackRoute = receiptRoute("nack", "Give deliveries back, to be delivered again now or after delay_seconds", NackBody);
const extendRoute = receiptRoute("extend", "Set leases to end visibility_timeout_seconds from now", ExtendBody);

type ItemResult = { receipt: string; ok: true } | { receipt: string; ok: false; error: { code: string; message: string } };

/** Serializes deliveries without parsing the stored bodies and headers: they are JSON already. */
function deliveriesJson(topic: TopicRecord, subscription: SubscriptionRecord, deliveries: Delivery[]): string {
  const items = deliveries.map(({ partition, message: m }) => {
    const receipt = encodeReceipt({
      topicUid: topic.uid,
      subscriptionUid: subscription.uid,
      partition,
      offset: m.offset,
      nonce: m.nonce,
    });
    return (
      `{"id":${JSON.stringify(m.id)},"key":${JSON.stringify(m.key)},"headers":${m.headers ?? "{}"},` +
      `"body":${m.body},"priority":${m.priority},"partition":${m.originPartition ?? partition},` +
      `"offset":${m.originOffset ?? m.offset},` +
      `"produced_at":"${iso(m.producedAt)}","attempt":${m.attempt},"receipt":"${receipt}"}`
    );
  });
  return `{"messages":[${items.join(",")}]}`;
}

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
  receipts.forEach((token, i) => {
    const r = decodeReceipt(token);
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

/** What a seek asks of each partition it concerns. */
function seekTargets(to: z.infer<typeof SeekBody>["to"], topic: TopicRecord): { partition: number; target: SeekTarget }[] {
  if (typeof to === "object") {
    return Object.entries(to).map(([key, offset]) => {
      const partition = Number(key);
      if (partition >= topic.partitions) {
        throw invalidField(`to.${key}`, `the topic has partitions 0 to ${topic.partitions - 1}`);
      }
      return { partition, target: { to: "offset", offset } };
    });
  }
  const target: SeekTarget = to === "earliest" || to === "latest" ? { to } : { to: "timestamp", atMs: Date.parse(to) };
  return Array.from({ length: topic.partitions }, (_, partition) => ({ partition, target }));
}

/** Receive, ack, nack, extend, seek and redrive. */
export function registerConsumeRoutes(app: App): void {
  app.openapi(receiveRoute, async (c) => {
    const params = c.req.valid("param");
    const body = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const spec = await resolveSubscriptionSpec(c.env, topic, subscription);
    const deliveries = await receive(subscriptionPartitions(c.env, topic, subscription), spec, {
      max: body.max_messages,
      visibilityMs: (body.visibility_timeout_seconds ?? subscription.visibilityTimeoutSeconds) * 1000,
      waitMs: body.wait_seconds * 1000,
      filter: body.filter?.headers ?? null,
      signal: c.req.raw.signal,
    });
    return rawJson(c.body(deliveriesJson(topic, subscription, deliveries), 200, { "content-type": "application/json" }));
  });

  app.openapi(seekRoute, async (c) => {
    const params = c.req.valid("param");
    const { to } = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const spec = await resolveSubscriptionSpec(c.env, topic, subscription);
    if (subscription.surgeState !== "off") {
      // Part of the backlog lives in temporary partitions that a seek of the sources cannot reach.
      throw new ApiError("conflict", "the subscription is in a backlog surge; seek once it has folded back (see stats)");
    }
    const targets = seekTargets(to, topic);
    const partitions = await Promise.all(
      targets.map(async ({ partition, target }) => ({
        partition,
        offset: await callPartition(() => partitionHandle(c.env, topic, partition).stub.seek(spec, target)),
      })),
    );
    await new Catalog(c.env.CATALOG).recordSeek(subscription, typeof to === "string" ? to : JSON.stringify(to));
    return c.json({ partitions }, 200);
  });

  app.openapi(redriveRoute, async (c) => {
    const params = c.req.valid("param");
    const body = c.req.valid("json");
    const { topic, subscription } = await requireSubscription(c.env, params.topic, params.subscription);
    const spec = await resolveSubscriptionSpec(c.env, topic, subscription);
    const report = await redrive(c.env, topic, subscription, spec, {
      max: body.max ?? Number.MAX_SAFE_INTEGER,
      reason: body.reason ?? null,
    });
    return c.json(report, 200);
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
