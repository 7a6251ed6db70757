// The Durable Object names of Weir's objects: the one place they are spelled, used by the
// Worker (src/routing), the objects themselves (dead-letter forwarding, surge moves) and tests.

/** Receipts and deliveries name temporary surge partition k as partition SURGE_INDEX_BASE + k. */
export const SURGE_INDEX_BASE = 1000;

/** Partition `index` of a topic incarnation (a topic deleted and created again has a new uid). */
export function partitionName(topicUid: string, index: number): string {
  return `${topicUid}:${index}`;
}

/** Temporary partition k of one surge (its generation: the surge's start time) of one subscription. */
export function surgePartitionName(topicUid: string, subscriptionUid: string, generation: number, k: number): string {
  return `${topicUid}:surge:${subscriptionUid}:${generation}:${k}`;
}

/**
 * The doorbell where a subscription's long polls wait. A surge's start or end names a new one
 * (`surgeStartedAt`, 0 when none runs): partition indices there mean other objects.
 */
export function doorbellName(topicUid: string, subscriptionUid: string, surgeStartedAt: number | null): string {
  return `${topicUid}:${subscriptionUid}:${surgeStartedAt ?? 0}`;
}
