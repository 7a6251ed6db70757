// The cron sweep's calls to partitions: each takes up its topic's rules and its live
// subscriptions' specs, and does what is due.
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { PartitionContext, SubscriptionSpec } from "../shared/partition-api";
import { callPartition } from "./failures";
import { topicPartitions, type PartitionHandle } from "./handles";
import { ensureSubscriptionSpec, partitionContext } from "./specs";

/** One partition the sweep may visit, with what it will be told. */
export interface SweepTarget {
  handle: PartitionHandle;
  context: PartitionContext;
}

export function sweepTargets(env: Env, topic: TopicRecord): SweepTarget[] {
  return topicPartitions(env, topic).map((handle) => ({ handle, context: partitionContext(topic, handle.index) }));
}

/** The specs of a topic's subscriptions (their dead-letter topics made sure of), for its partitions' sweeps. */
export function sweepSpecs(env: Env, topic: TopicRecord, subscriptions: readonly SubscriptionRecord[]): Promise<SubscriptionSpec[]> {
  return Promise.all(subscriptions.map((s) => ensureSubscriptionSpec(env, topic, s)));
}

export function sweepPartition(target: SweepTarget, specs: SubscriptionSpec[]): Promise<{ woken: number; deleted: number }> {
  return callPartition(() => target.handle.stub.sweep(target.context, specs));
}
