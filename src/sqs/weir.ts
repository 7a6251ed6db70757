// The SQS endpoint's one door to the rest of Weir: the routing functions the REST API uses too
// (produce, receive, the ack/nack/extend fan-out, admin fan-outs) and the catalog's topics and
// subscriptions. Nothing else in src/sqs calls them (test/house/layering.test.ts), so a move of
// those functions is a change to this file only. (access.ts reads API keys, as http/auth.ts does.)

import type { Env } from "../env";
import { Catalog, CatalogConflict } from "../catalog/catalog";
import type { SubscriptionRecord, SubscriptionSettings, TopicRecord, TopicSettings } from "../catalog/records";
import { SqsQueueStore, type SqsQueueSettings } from "../catalog/sqs-queues";
import { retireNow, seekPartitions, subscribeEverywhere, topicStats } from "../routing/admin";
import { PartitionUnavailable, RoutingFailure, TopicFull, TopicGone } from "../routing/failures";
import { subscriptionDoorbell, subscriptionPartitions } from "../routing/handles";
import { produce, type Produced } from "../routing/produce";
import { receive } from "../routing/receive";
import { settle } from "../routing/settle";
import { ensureSubscriptionSpec } from "../routing/specs";
import type { LeasedMessage, NewMessage } from "../shared/partition-api";
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from "../shared/limits";
import { leaseReceipts } from "../shared/receipt";
import { SqsError, invalidParameter, queueDoesNotExist } from "./errors";

/** The subscription of a topic that makes it a queue. */
export const QUEUE_SUBSCRIPTION = "sqs";

/** A queue: a topic, its `sqs` subscription, and the attributes no Weir setting holds. */
export interface Queue {
  topic: TopicRecord;
  subscription: SubscriptionRecord;
  settings: SqsQueueSettings;
}

/** The topic called `name`, queue or not, or null. */
export function findTopic(env: Env, name: string): Promise<TopicRecord | null> {
  return new Catalog(env.CATALOG).getTopic(name);
}

/** The queue called `name`, or null when there is no such topic or it has no `sqs` subscription. */
export async function findQueue(env: Env, name: string): Promise<Queue | null> {
  const catalog = new Catalog(env.CATALOG);
  const [topic, subscription] = await Promise.all([catalog.getTopic(name), catalog.getSubscription(name, QUEUE_SUBSCRIPTION)]);
  if (!topic || !subscription) return null;
  return { topic, subscription, settings: await new SqsQueueStore(env.CATALOG).get(topic.uid) };
}

/**
 * Creates the queue's topic and subscription with these settings, or gives existing ones
 * these settings, as the REST API's PUT of a topic and a subscription do; then tells the
 * partitions of the subscription (which also creates its dead-letter topic).
 */
export async function putQueue(
  env: Env,
  name: string,
  topicSettings: TopicSettings,
  subscriptionSettings: SubscriptionSettings,
  settings: SqsQueueSettings,
): Promise<Queue> {
  const catalog = new Catalog(env.CATALOG);
  try {
    const { topic } = await catalog.putTopic(name, topicSettings);
    const { subscription } = await catalog.putSubscription(topic, QUEUE_SUBSCRIPTION, subscriptionSettings);
    await new SqsQueueStore(env.CATALOG).put(topic.uid, settings);
    await subscribeEverywhere(env, topic, subscription);
    return { topic, subscription, settings };
  } catch (error) {
    if (error instanceof CatalogConflict) throw invalidParameter(error.field, name, error.message);
    throw asSqsError(error);
  }
}

/** Deletes the queue's topic with all its messages, as the REST API's DELETE of a topic does. */
export async function deleteQueue(env: Env, queue: Queue): Promise<void> {
  const tombstone = await new Catalog(env.CATALOG).deleteTopic(queue.topic.name);
  if (!tombstone) throw queueDoesNotExist();
  await new SqsQueueStore(env.CATALOG).delete(tombstone.work.topicUid);
  // The deletion is durable with its tombstone: what fails here, the cron finishes.
  await retireNow(env, tombstone);
}

/** Names of the queues that start with `prefix`, after `after`, by name; at most `limit`. */
export function listQueueNames(env: Env, prefix: string, after: string, limit: number): Promise<string[]> {
  return new Catalog(env.CATALOG).listTopicsWithSubscription(QUEUE_SUBSCRIPTION, prefix, after, limit);
}

/** Stores messages as the REST produce does; each answer in request order. */
export async function send(env: Env, queue: Queue, messages: readonly NewMessage[]): Promise<Produced[]> {
  try {
    return await produce(env, queue.topic, messages);
  } catch (error) {
    throw asSqsError(error);
  }
}

export interface Received {
  /** The partition that leased it (a surge partition's index for a message moved there). */
  partition: number;
  message: LeasedMessage;
  receipt: string;
}

/** One long poll of the queue's subscription, as the REST receive; each message with its receipt. */
export async function receiveFrom(
  env: Env,
  queue: Queue,
  options: { max: number; visibilityMs: number; waitMs: number; signal: AbortSignal; background: (work: Promise<unknown>) => void },
): Promise<Received[]> {
  const { topic, subscription } = queue;
  try {
    const spec = await ensureSubscriptionSpec(env, topic, subscription);
    const deliveries = await receive(
      subscriptionPartitions(env, topic, subscription),
      subscriptionDoorbell(env, topic, subscription),
      spec,
      { ...options, filter: null },
      { partitions: 0, doorbell: 0 },
    );
    const signers = new Map<string, Promise<(offset: number) => string>>();
    return await Promise.all(
      deliveries.map(async ({ partition, message }) => {
        const lease = `${partition}.${message.nonce}`;
        let sign = signers.get(lease);
        if (!sign) {
          sign = leaseReceipts(env, { topicUid: topic.uid, subscriptionUid: subscription.uid, partition, nonce: message.nonce });
          signers.set(lease, sign);
        }
        return { partition, message, receipt: (await sign)(message.offset) };
      }),
    );
  } catch (error) {
    throw asSqsError(error);
  }
}

/** What to do with a delivery: ack it, give it back after a delay, or set its lease anew. */
export type Settlement = { kind: "ack" } | { kind: "nack"; delayMs: number } | { kind: "extend"; visibilityMs: number };

/** The outcome of one receipt: ok, or the code the REST API would answer for it. */
export type SettleOutcome = { ok: true } | { ok: false; code: string; message: string };

/** Applies `action` to each receipt, through the REST API's fan-out (routing/settle); outcomes in order. */
export async function settleReceipts(
  env: Env,
  queue: Queue,
  receipts: readonly string[],
  action: Settlement,
): Promise<SettleOutcome[]> {
  const results = await settle(
    env,
    queue.topic,
    queue.subscription,
    receipts,
    action.kind === "nack" ? { kind: "nack", options: { delayMs: action.delayMs, deadLetter: false, reason: null } } : action,
  );
  return results.map((r) => (r.ok ? { ok: true } : { ok: false, code: r.error.code, message: r.error.message }));
}

/** The queue subscription's message counts, summed over its partitions (the REST stats). */
export async function queueCounts(env: Env, queue: Queue): Promise<{ ready: number; inFlight: number; delayed: number }> {
  try {
    const stats = await topicStats(env, queue.topic);
    const mine = stats.subscriptions.find((s) => s.subscription.uid === queue.subscription.uid);
    const all = mine ? [...mine.partitions, ...mine.temporary] : [];
    return {
      ready: all.reduce((n, c) => n + c.ready, 0),
      inFlight: all.reduce((n, c) => n + c.inFlight, 0),
      delayed: all.reduce((n, c) => n + c.delayed, 0),
    };
  } catch (error) {
    throw asSqsError(error);
  }
}

/** Makes every message stored so far count as done for the queue: a REST seek to `latest`. */
export async function purge(env: Env, queue: Queue): Promise<void> {
  const { topic, subscription } = queue;
  if (subscription.surgeState !== "off") {
    throw new SqsError("PurgeQueueInProgress", "The queue is in a backlog surge; purge it once that has folded back.");
  }
  try {
    const targets = Array.from({ length: topic.partitions }, (_, partition) => ({ partition, target: { to: "latest" } as const }));
    await seekPartitions(env, topic, subscription, targets);
    await new Catalog(env.CATALOG).recordSeek(subscription, "latest");
  } catch (error) {
    throw asSqsError(error);
  }
}

/** A failure of the routing layer, in SQS's words; other errors pass unchanged. */
function asSqsError(error: unknown): unknown {
  if (!(error instanceof RoutingFailure)) return error;
  if (error instanceof TopicGone) return queueDoesNotExist();
  if (error instanceof TopicFull) return new SqsError("OverLimit", `The queue is full: ${error.message}`, error.retryAfterSeconds);
  if (error instanceof PartitionUnavailable) {
    return new SqsError("ServiceUnavailable", "A partition of the queue is unavailable; retry the request.", UNAVAILABLE_RETRY_AFTER_SECONDS);
  }
  return new SqsError("InternalFailure", error.message);
}
