import type { Env } from "../env";
import type { TopicRecord } from "../catalog/records";
import { forgetCachedTopic } from "../catalog/catalog";
import { partitionForKey } from "../shared/hash";
import type { NewMessage } from "../shared/partition-api";
import { ApiError, topicNotFound } from "../http/errors";
import { callPartition, partitionContext, partitionHandle } from "./partitions";

/** What a producer refused by `overflow: reject` is told to wait before trying again. */
const TOPIC_FULL_RETRY_AFTER_SECONDS = 1;

export interface Produced {
  id: string;
  partition: number;
  offset: number;
  duplicate: boolean;
  producedAt: number;
}

/**
 * The partition of each message: a keyed message by the hash of its key, a keyless one with a
 * producer id by the hash of the id (so its duplicates meet on one partition), and the other
 * keyless messages of one request together on one partition picked at random (one append
 * instead of many; over many requests they spread evenly).
 */
export function routeMessages(messages: readonly NewMessage[], partitions: number): number[] {
  const sticky = Math.floor(Math.random() * partitions);
  return messages.map((m) => {
    if (m.key !== null) return partitionForKey(m.key, partitions);
    if (m.idFromProducer) return partitionForKey(m.id, partitions);
    return sticky;
  });
}

/**
 * Appends messages to their partitions, one transaction per partition, all in parallel.
 * Resolves once every message is stored; a failure of any partition rejects the whole
 * request with a retryable 503 (a retry with the same ids stores nothing twice), a full
 * partition with 429 `topic_full` (that partition stored nothing).
 */
export async function produce(env: Env, topic: TopicRecord, messages: readonly NewMessage[]): Promise<Produced[]> {
  const targets = routeMessages(messages, topic.partitions);
  const byPartition = new Map<number, number[]>();
  targets.forEach((partition, i) => {
    const positions = byPartition.get(partition);
    if (positions) positions.push(i);
    else byPartition.set(partition, [i]);
  });

  const results: Produced[] = new Array(messages.length);
  await Promise.all(
    [...byPartition].map(async ([index, positions]) => {
      const { stub } = partitionHandle(env, topic, index);
      const batch = positions.map((i) => messages[i]!);
      const outcome = await callPartition(async () => stub.append(batch, partitionContext(topic, index)));
      if (!outcome.ok) {
        if (outcome.code === "topic_full") {
          throw new ApiError("topic_full", `partition ${index} is full: ${outcome.message}`, undefined, TOPIC_FULL_RETRY_AFTER_SECONDS);
        }
        forgetCachedTopic(topic.name);
        throw topicNotFound(topic.name);
      }
      outcome.appended.forEach((appended, j) => {
        const i = positions[j]!;
        results[i] = { id: messages[i]!.id, partition: index, ...appended };
      });
    }),
  );
  if (results.some((r) => r === undefined)) throw new ApiError("internal", "a partition answered too few results");
  return results;
}
