import type { Env } from "../env";
import type { TopicRecord } from "../catalog/records";
import { forgetCachedTopic } from "../catalog/catalog";
import { partitionForKey } from "../shared/hash";
import { TOPIC_FULL_RETRY_AFTER_SECONDS } from "../shared/limits";
import type { NewMessage } from "../shared/partition-api";
import { callPartition, PartitionAnswerShort, TopicFull, TopicGone } from "./failures";
import { groupBy, partitionHandle } from "./handles";
import { partitionContext } from "./specs";

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
 * Resolves once every message is stored. A failure of any partition rejects the whole request
 * with PartitionUnavailable (a retry with the same ids stores nothing twice), a full partition
 * with TopicFull (that partition stored nothing), a deleted topic with TopicGone.
 */
export async function produce(env: Env, topic: TopicRecord, messages: readonly NewMessage[]): Promise<Produced[]> {
  const targets = routeMessages(messages, topic.partitions);
  const results: Produced[] = new Array(messages.length);
  await Promise.all(
    [...groupBy(messages, (_, i) => targets[i]!)].map(async ([index, { positions, items }]) => {
      const { stub } = partitionHandle(env, topic, index);
      const outcome = await callPartition(async () => stub.append(items, partitionContext(topic, index)));
      if (!outcome.ok) {
        if (outcome.code === "topic_full") throw new TopicFull(index, outcome.message, TOPIC_FULL_RETRY_AFTER_SECONDS);
        forgetCachedTopic(topic.name);
        throw new TopicGone(topic.name);
      }
      outcome.appended.forEach((appended, j) => {
        const i = positions[j]!;
        results[i] = { id: messages[i]!.id, partition: index, ...appended };
      });
    }),
  );
  if (results.some((r) => r === undefined)) throw new PartitionAnswerShort();
  return results;
}
