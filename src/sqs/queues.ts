// Queue operations: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
// SetQueueAttributes, PurgeQueue. A queue is a topic with a subscription named `sqs`.

import { z } from "zod";
import { SQS_MAX_LIST_QUEUES as MAX_LIST } from "../shared/limits";
import { requireScope, may } from "./access";
import {
  applyChanges,
  attributeValues,
  isFifoName,
  needsCounts,
  parseQueueAttributes,
  readableNames,
  type QueueChanges,
  type QueueSettings,
} from "./attributes";
import { QUEUE_NAME, operation, queueNameOf, queueUrl, type SqsCall } from "./call";
import { SqsError, invalidParameter, queueDoesNotExist } from "./errors";
import { deleteQueue, findQueue, findTopic, listQueueNames, purge, putQueue, queueCounts, type Queue } from "./weir";

const Attributes = z.record(z.string(), z.string());
const QueueUrlInput = z.object({ QueueUrl: z.string() });

/** The queue a QueueUrl names, after the principal's scope for one of `actions` on it is checked. */
export async function requireQueue(call: SqsCall, queueUrlText: string, actions: Parameters<typeof requireScope>[1]): Promise<Queue> {
  const name = queueNameOf(queueUrlText);
  requireScope(call.principal, actions, name);
  const queue = await findQueue(call.env, name);
  if (!queue) throw queueDoesNotExist();
  return queue;
}

const FIFO_NAME_RULE =
  "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.";

/** Checks what CreateQueue or SetQueueAttributes asks of queue `name` against the queue's type and the dead-letter queue. */
async function checkChanges(call: SqsCall, name: string, changes: QueueChanges): Promise<void> {
  const fifo = isFifoName(name);
  if (changes.fifo !== undefined && changes.fifo !== fifo) throw invalidParameter("QueueName", name, FIFO_NAME_RULE);
  if (!fifo && changes.contentBasedDeduplication !== undefined) {
    throw new SqsError("InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication.");
  }
  const redrive = changes.redrive;
  if (redrive) {
    const policy = `{"deadLetterTargetArn":"…:${redrive.deadLetterQueue}","maxReceiveCount":${redrive.maxReceiveCount}}`;
    if (redrive.deadLetterQueue === name) throw invalidParameter("RedrivePolicy", policy, "A queue cannot be its own dead-letter queue.");
    if (isFifoName(redrive.deadLetterQueue) !== fifo) {
      throw invalidParameter("RedrivePolicy", policy, "Dead-letter queue must be of the same type (standard or FIFO) as the source queue.");
    }
    if (!(await findQueue(call.env, redrive.deadLetterQueue))) {
      throw invalidParameter("RedrivePolicy", policy, "Dead letter target does not exist.");
    }
  }
}

function sameSettings(a: QueueSettings, b: QueueSettings): boolean {
  return (
    a.topic.defaultDelaySeconds === b.topic.defaultDelaySeconds &&
    a.topic.retentionSeconds === b.topic.retentionSeconds &&
    a.subscription.visibilityTimeoutSeconds === b.subscription.visibilityTimeoutSeconds &&
    a.subscription.maxDeliveries === b.subscription.maxDeliveries &&
    a.subscription.deadLetterTopic === b.subscription.deadLetterTopic &&
    a.sqs.receiveWaitSeconds === b.sqs.receiveWaitSeconds &&
    a.sqs.contentBasedDeduplication === b.sqs.contentBasedDeduplication
  );
}

export const createQueue = operation(
  z.object({ QueueName: z.string(), Attributes: Attributes.optional(), tags: z.record(z.string(), z.string()).optional() }),
  async (call, input) => {
    const name = input.QueueName;
    if (!QUEUE_NAME.test(name)) {
      throw invalidParameter("QueueName", name, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.");
    }
    requireScope(call.principal, ["admin"], null);
    const changes = parseQueueAttributes(input.Attributes ?? {}, true);
    if (isFifoName(name) && changes.fifo !== true) throw invalidParameter("QueueName", name, FIFO_NAME_RULE);
    await checkChanges(call, name, changes);
    const existing = await findQueue(call.env, name);
    if (existing) {
      // Compared as SQS does: only the attributes given, so that a repeated CreateQueue that names none answers the URL.
      const current = { topic: existing.topic, subscription: existing.subscription, sqs: existing.settings };
      if (!sameSettings(applyChanges(name, current, changes), applyChanges(name, current, {}))) {
        throw new SqsError("QueueNameExists", `A queue already exists with the same name and a different value for an attribute.`);
      }
    } else {
      // A topic made through the REST API becomes a queue when it gets its `sqs` subscription.
      const topic = await findTopic(call.env, name);
      const settings = applyChanges(name, { topic, subscription: null, sqs: null }, changes);
      await putQueue(call.env, name, settings.topic, settings.subscription, settings.sqs);
    }
    return { QueueUrl: queueUrl(call.origin, name) };
  },
);

export const getQueueUrl = operation(
  z.object({ QueueName: z.string(), QueueOwnerAWSAccountId: z.string().optional() }),
  async (call, input) => {
    if (!QUEUE_NAME.test(input.QueueName)) throw queueDoesNotExist();
    const queue = await requireQueue(call, input.QueueName, ["produce", "consume"]);
    return { QueueUrl: queueUrl(call.origin, queue.topic.name) };
  },
);


export const listQueues = operation(
  z.object({
    QueueNamePrefix: z.string().max(80).optional(),
    MaxResults: z.number().int().min(1).max(MAX_LIST).optional(),
    NextToken: z.string().optional(),
  }),
  async (call, input) => {
    const limit = input.MaxResults ?? MAX_LIST;
    const after = input.NextToken === undefined ? "" : decodeNextToken(input.NextToken);
    // A key sees the queues its scopes name; read ahead so that a page is full when there are more.
    const names = await listQueueNames(call.env, input.QueueNamePrefix ?? "", after, MAX_LIST);
    const visible = names.filter((n) => may(call.principal, "produce", n) || may(call.principal, "consume", n));
    const page = visible.slice(0, limit);
    const more = visible.length > limit || (names.length === MAX_LIST && page.length === limit);
    const last = page.at(-1) ?? names.at(-1);
    const nextToken = input.MaxResults !== undefined && more && last !== undefined ? btoa(last) : undefined;
    return { QueueUrls: page.map((n) => queueUrl(call.origin, n)), ...(nextToken ? { NextToken: nextToken } : {}) };
  },
);

function decodeNextToken(token: string): string {
  try {
    return atob(token);
  } catch {
    throw invalidParameter("NextToken", token, "Invalid NextToken.");
  }
}

export const deleteQueueOperation = operation(QueueUrlInput, async (call, input) => {
  const queue = await requireQueue(call, input.QueueUrl, ["admin"]);
  await deleteQueue(call.env, queue);
  return {};
});

export const getQueueAttributes = operation(
  QueueUrlInput.extend({ AttributeNames: z.array(z.string()).optional() }),
  async (call, input) => {
    const names = readableNames(input.AttributeNames ?? []);
    const queue = await requireQueue(call, input.QueueUrl, ["produce", "consume"]);
    const counts = needsCounts(names) ? await queueCounts(call.env, queue) : null;
    return { Attributes: attributeValues(queue, names, call.principal.region, counts) };
  },
);

export const setQueueAttributes = operation(QueueUrlInput.extend({ Attributes: Attributes }), async (call, input) => {
  const queue = await requireQueue(call, input.QueueUrl, ["admin"]);
  const name = queue.topic.name;
  const changes = parseQueueAttributes(input.Attributes, false);
  await checkChanges(call, name, changes);
  const current = { topic: queue.topic, subscription: queue.subscription, sqs: queue.settings };
  const settings = applyChanges(name, current, changes);
  if (!sameSettings(settings, current)) await putQueue(call.env, name, settings.topic, settings.subscription, settings.sqs);
  return {};
});

export const purgeQueue = operation(QueueUrlInput, async (call, input) => {
  const queue = await requireQueue(call, input.QueueUrl, ["consume"]);
  await purge(call.env, queue);
  return {};
});
