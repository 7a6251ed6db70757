// Queue attributes ↔ the settings of a queue's topic and `sqs` subscription (docs/sqs.md has
// the table). Values travel as strings, as in SQS.

import { SUBSCRIPTION_DEFAULTS, TOPIC_DEFAULTS } from "../catalog/defaults";
import type { SubscriptionSettings, TopicSettings } from "../catalog/records";
import { SQS_QUEUE_DEFAULTS, type SqsQueueSettings } from "../catalog/sqs-queues";
import {
  MAX_DELAY_SECONDS,
  MAX_MESSAGE_BODY_BYTES,
  MAX_RETENTION_SECONDS,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  MIN_RETENTION_SECONDS,
  MIN_VISIBILITY_TIMEOUT_SECONDS,
  SQS_FIFO_DEDUP_WINDOW_SECONDS as FIFO_DEDUP_WINDOW_SECONDS,
  SQS_MAX_QUEUE_WAIT_SECONDS as MAX_QUEUE_WAIT_SECONDS,
  SQS_MAX_RECEIVE_COUNT as MAX_RECEIVE_COUNT,
} from "../shared/limits";
import { SqsError, invalidParameter } from "./errors";
import type { Queue } from "./weir";

/** The account id in every QueueUrl and ARN: Weir has no accounts. */
export const ACCOUNT_ID = "000000000000";

// Attributes SQS has that Weir accepts and ignores (encryption, access policy, FIFO throughput
// modes, MaximumMessageSize): a client that sets them still works. docs/sqs.md lists them.
const IGNORED = new Set([
  "Policy",
  "KmsMasterKeyId",
  "KmsDataKeyReusePeriodSeconds",
  "SqsManagedSseEnabled",
  "DeduplicationScope",
  "FifoThroughputLimit",
  "RedriveAllowPolicy",
  "MaximumMessageSize",
]);

const SETTABLE = new Set([
  "DelaySeconds",
  "MessageRetentionPeriod",
  "ReceiveMessageWaitTimeSeconds",
  "VisibilityTimeout",
  "RedrivePolicy",
  "FifoQueue",
  "ContentBasedDeduplication",
]);

/** Every attribute GetQueueAttributes answers, in SQS's order. */
export const READABLE = [
  "QueueArn",
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
  "CreatedTimestamp",
  "LastModifiedTimestamp",
  "VisibilityTimeout",
  "MaximumMessageSize",
  "MessageRetentionPeriod",
  "DelaySeconds",
  "ReceiveMessageWaitTimeSeconds",
  "RedrivePolicy",
  "FifoQueue",
  "ContentBasedDeduplication",
] as const;

export type ReadableAttribute = (typeof READABLE)[number];

/** A RedrivePolicy: where a message goes after maxReceiveCount receives. */
export interface Redrive {
  deadLetterQueue: string;
  maxReceiveCount: number;
}

/** What CreateQueue or SetQueueAttributes asks to change. */
export interface QueueChanges {
  delaySeconds?: number;
  retentionSeconds?: number;
  receiveWaitSeconds?: number;
  visibilityTimeoutSeconds?: number;
  /** null: remove the RedrivePolicy. */
  redrive?: Redrive | null;
  fifo?: boolean;
  contentBasedDeduplication?: boolean;
}

/** Whether `name` is the name of a FIFO queue. */
export function isFifoName(name: string): boolean {
  return name.endsWith(".fifo");
}

/** The attribute names of a GetQueueAttributes request, checked; `All` names every one. */
export function readableNames(names: readonly string[]): Set<ReadableAttribute> {
  const wanted = new Set<ReadableAttribute>();
  for (const name of names) {
    if (name === "All") READABLE.forEach((n) => wanted.add(n));
    else if ((READABLE as readonly string[]).includes(name)) wanted.add(name as ReadableAttribute);
    else if (!IGNORED.has(name)) throw new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);
  }
  return wanted;
}

/** Parses the attributes of CreateQueue (`creating`) or SetQueueAttributes. Throws SqsError. */
export function parseQueueAttributes(attributes: Record<string, string>, creating: boolean): QueueChanges {
  const changes: QueueChanges = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (IGNORED.has(name)) continue;
    if (!SETTABLE.has(name)) throw new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    switch (name) {
      case "DelaySeconds":
        changes.delaySeconds = integer(name, value, 0, MAX_DELAY_SECONDS);
        break;
      case "MessageRetentionPeriod":
        changes.retentionSeconds = integer(name, value, MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS);
        break;
      case "ReceiveMessageWaitTimeSeconds":
        changes.receiveWaitSeconds = integer(name, value, 0, MAX_QUEUE_WAIT_SECONDS);
        break;
      case "VisibilityTimeout":
        changes.visibilityTimeoutSeconds = integer(name, value, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
        break;
      case "RedrivePolicy":
        changes.redrive = parseRedrivePolicy(value);
        break;
      case "FifoQueue":
        if (!creating) throw new SqsError("InvalidAttributeName", "FifoQueue can be given only when a queue is created.");
        changes.fifo = boolean(name, value);
        break;
      case "ContentBasedDeduplication":
        changes.contentBasedDeduplication = boolean(name, value);
        break;
    }
  }
  return changes;
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = /^\d{1,12}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new SqsError("InvalidAttributeValue", `Invalid value for the parameter ${name}: must be an integer from ${min} to ${max}.`);
  }
  return n;
}

function boolean(name: string, value: string): boolean {
  if (value !== "true" && value !== "false") {
    throw new SqsError("InvalidAttributeValue", `Invalid value for the parameter ${name}: must be true or false.`);
  }
  return value === "true";
}

const ARN = /^arn:aws:sqs:[a-z0-9-]*:\d{12}:([A-Za-z0-9_-]{1,80}(\.fifo)?)$/;

function parseRedrivePolicy(value: string): Redrive | null {
  if (value === "") return null;
  let policy: unknown;
  try {
    policy = JSON.parse(value);
  } catch {
    throw invalidParameter("RedrivePolicy", value, "Redrive policy is not a valid JSON map.");
  }
  const { deadLetterTargetArn, maxReceiveCount } = (policy ?? {}) as Record<string, unknown>;
  const arn = typeof deadLetterTargetArn === "string" ? ARN.exec(deadLetterTargetArn) : null;
  if (!arn) throw invalidParameter("RedrivePolicy", value, "Invalid value for deadLetterTargetArn.");
  const count = typeof maxReceiveCount === "string" && /^\d{1,4}$/.test(maxReceiveCount) ? Number(maxReceiveCount) : maxReceiveCount;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_RECEIVE_COUNT) {
    throw invalidParameter("RedrivePolicy", value, `maxReceiveCount must be an integer from 1 to ${MAX_RECEIVE_COUNT}.`);
  }
  return { deadLetterQueue: arn[1]!, maxReceiveCount: count };
}

/** The settings of a queue's topic, subscription and SQS row after `changes`. */
export interface QueueSettings {
  topic: TopicSettings;
  subscription: SubscriptionSettings;
  sqs: SqsQueueSettings;
}

/** The settings `changes` give queue `name`, starting from `current` (null: a new queue). */
export function applyChanges(
  name: string,
  current: { topic: TopicSettings | null; subscription: SubscriptionSettings | null; sqs: SqsQueueSettings | null },
  changes: QueueChanges,
): QueueSettings {
  const fifo = isFifoName(name);
  const topicBase = current.topic ?? TOPIC_DEFAULTS;
  const retentionSeconds = changes.retentionSeconds ?? topicBase.retentionSeconds;
  const topic: TopicSettings = {
    ...topicBase,
    defaultDelaySeconds: changes.delaySeconds ?? topicBase.defaultDelaySeconds,
    retentionSeconds,
    // Deduplication by id: FIFO queues over SQS's five minutes; never longer than the retention.
    dedupWindowSeconds: Math.min(fifo ? FIFO_DEDUP_WINDOW_SECONDS : topicBase.dedupWindowSeconds, retentionSeconds),
  };
  const subBase = current.subscription ?? {
    ...SUBSCRIPTION_DEFAULTS,
    mode: fifo ? "ordered" : "shared",
    // A queue holds what was sent to it before anyone received.
    startPosition: "earliest",
    // SQS gives a message back the moment its visibility ends: no back-off.
    backoff: "fixed",
    backoffInitialSeconds: 0,
    maxDeliveries: MAX_RECEIVE_COUNT,
  };
  const redrive = changes.redrive === undefined ? redriveOf(subBase) : changes.redrive;
  const subscription: SubscriptionSettings = {
    ...subBase,
    // Weir leases for at least a second.
    visibilityTimeoutSeconds: Math.max(
      MIN_VISIBILITY_TIMEOUT_SECONDS,
      changes.visibilityTimeoutSeconds ?? subBase.visibilityTimeoutSeconds,
    ),
    maxDeliveries: redrive ? redrive.maxReceiveCount : MAX_RECEIVE_COUNT,
    deadLetterTopic: redrive ? redrive.deadLetterQueue : null,
  };
  const sqsBase = current.sqs ?? SQS_QUEUE_DEFAULTS;
  const sqs: SqsQueueSettings = {
    receiveWaitSeconds: changes.receiveWaitSeconds ?? sqsBase.receiveWaitSeconds,
    contentBasedDeduplication: changes.contentBasedDeduplication ?? sqsBase.contentBasedDeduplication,
  };
  return { topic, subscription, sqs };
}

/** The RedrivePolicy a subscription's settings stand for: a named dead-letter topic. */
function redriveOf(s: SubscriptionSettings): Redrive | null {
  return s.deadLetterTopic === null ? null : { deadLetterQueue: s.deadLetterTopic, maxReceiveCount: s.maxDeliveries };
}

/** The ARN of queue `name`, in the region the client signed for. */
export function queueArn(region: string, name: string): string {
  return `arn:aws:sqs:${region}:${ACCOUNT_ID}:${name}`;
}

/** The values of the attributes `names` of `queue`; `counts` when the caller asked for a count. */
export function attributeValues(
  queue: Queue,
  names: ReadonlySet<ReadableAttribute>,
  region: string,
  counts: { ready: number; inFlight: number; delayed: number } | null,
): Record<string, string> {
  const { topic, subscription, settings } = queue;
  const fifo = isFifoName(topic.name);
  const redrive = redriveOf(subscription);
  const values: Partial<Record<ReadableAttribute, string | null>> = {
    QueueArn: queueArn(region, topic.name),
    ApproximateNumberOfMessages: counts && String(counts.ready),
    ApproximateNumberOfMessagesNotVisible: counts && String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: counts && String(counts.delayed),
    CreatedTimestamp: String(Math.floor(topic.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(Math.max(topic.updatedAt, subscription.updatedAt) / 1000)),
    VisibilityTimeout: String(subscription.visibilityTimeoutSeconds),
    MaximumMessageSize: String(MAX_MESSAGE_BODY_BYTES),
    MessageRetentionPeriod: String(topic.retentionSeconds),
    DelaySeconds: String(topic.defaultDelaySeconds),
    ReceiveMessageWaitTimeSeconds: String(settings.receiveWaitSeconds),
    RedrivePolicy: redrive
      ? JSON.stringify({ deadLetterTargetArn: queueArn(region, redrive.deadLetterQueue), maxReceiveCount: redrive.maxReceiveCount })
      : null,
    FifoQueue: fifo ? "true" : null,
    ContentBasedDeduplication: fifo ? String(settings.contentBasedDeduplication) : null,
  };
  const out: Record<string, string> = {};
  for (const name of READABLE) {
    const value = values[name];
    if (names.has(name) && value != null) out[name] = value;
  }
  return out;
}

/** Whether a count attribute is among `names`: only then are the partitions asked. */
export function needsCounts(names: ReadonlySet<ReadableAttribute>): boolean {
  return (
    names.has("ApproximateNumberOfMessages") ||
    names.has("ApproximateNumberOfMessagesNotVisible") ||
    names.has("ApproximateNumberOfMessagesDelayed")
  );
}
