// Ack, nack and extend: receipts decoded, checked against the subscription, and applied per
// partition in one call each. Results keep the request's order, one per receipt.
import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { NackOptions, ReceiptOutcome, ReceiptRef } from "../shared/partition-api";
import { Catalog } from "../catalog/catalog";
import { SURGE_INDEX_BASE } from "../shared/object-names";
import { decodeReceipts } from "../shared/receipt";
import { callPartition } from "./failures";
import { groupBy, receiptPartition, type PartitionHandle } from "./handles";
import type { ObjectCalls } from "./receive";

/** What one receipt came to: done, or why not (the API's per-item error codes). */
export type ReceiptResult =
  | { receipt: string; ok: true }
  | { receipt: string; ok: false; error: { code: string; message: string } };

/** What a settle does to each delivery. */
export type Settlement =
  | { kind: "ack" }
  | { kind: "nack"; options: NackOptions }
  | { kind: "extend"; visibilityMs: number };

function refused(receipt: string, code: string, message: string): ReceiptResult {
  return { receipt, ok: false, error: { code, message } };
}

function apply(handle: PartitionHandle, subscriptionUid: string, settlement: Settlement, refs: ReceiptRef[]): Promise<ReceiptOutcome[]> {
  switch (settlement.kind) {
    case "ack":
      return handle.stub.ack(subscriptionUid, refs);
    case "nack":
      return handle.stub.nack(subscriptionUid, refs, settlement.options);
    case "extend":
      return handle.stub.extend(subscriptionUid, refs, settlement.visibilityMs);
  }
}

/** The valid receipts of one partition, in request order, and where their results go. */
export interface SettleGroup {
  handle: PartitionHandle;
  positions: number[];
  refs: ReceiptRef[];
}

/** Receipts decoded and checked: the refused ones answered, the others grouped by partition. */
export interface SettlePlan {
  receipts: readonly string[];
  results: ReceiptResult[];
  groups: SettleGroup[];
}

/**
 * Decodes `receipts` and checks them against the subscription. A receipt that is not ours, or is
 * of another topic or subscription, is refused on its own; the others are grouped per partition,
 * to be applied with one call each (`settleGroup`, or carried by a receive's first lease).
 */
export async function planSettle(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  receipts: readonly string[],
): Promise<SettlePlan> {
  const results: ReceiptResult[] = new Array(receipts.length);
  const decoded = await decodeReceipts(env, receipts);
  // One handle per partition named, not per receipt (a batch's receipts name one or a few).
  let handles = new Map<number, PartitionHandle | null>();
  const handleOf = (partition: number): PartitionHandle | null => {
    if (!handles.has(partition)) handles.set(partition, receiptPartition(env, topic, subscription, partition));
    return handles.get(partition)!;
  };
  // A receipt of a temporary partition this isolate's cache does not know yet (a surge that
  // started seconds ago): read the subscription from D1 before calling the receipt foreign.
  if (decoded.some((r) => r && r.partition >= SURGE_INDEX_BASE && !handleOf(r.partition))) {
    subscription = (await new Catalog(env.CATALOG).readSubscription(topic.name, subscription.name)) ?? subscription;
    handles = new Map();
  }
  const valid: { position: number; handle: PartitionHandle; ref: ReceiptRef }[] = [];
  receipts.forEach((token, i) => {
    const r = decoded[i] ?? null;
    const handle = r ? handleOf(r.partition) : null;
    if (!r || !handle) results[i] = refused(token, "receipt_invalid", "not a receipt of this service");
    else if (r.topicUid !== topic.uid || r.subscriptionUid !== subscription.uid) {
      results[i] = refused(token, "receipt_mismatch", "the receipt belongs to another topic or subscription");
    } else valid.push({ position: i, handle, ref: { offset: r.offset, nonce: r.nonce } });
  });
  const groups = [...groupBy(valid, (v) => v.handle.index).values()].map(({ items }) => ({
    handle: items[0]!.handle,
    positions: items.map((v) => v.position),
    refs: items.map((v) => v.ref),
  }));
  return { receipts, results, groups };
}

/** Writes a group's outcomes into the plan's results; null: the call failed (`unavailable`, retry those). */
export function recordOutcomes(plan: SettlePlan, group: SettleGroup, outcomes: readonly ReceiptOutcome[] | null): void {
  group.positions.forEach((position, j) => {
    const receipt = plan.receipts[position]!;
    const outcome = outcomes?.[j];
    plan.results[position] = !outcome
      ? refused(receipt, "unavailable", "the partition is unavailable; retry this receipt")
      : outcome.ok
        ? { receipt, ok: true }
        : refused(receipt, outcome.code, outcome.message);
  });
}

/** Applies `settlement` to one group with one partition call; `calls` counts it. */
export async function settleGroup(
  plan: SettlePlan,
  group: SettleGroup,
  subscriptionUid: string,
  settlement: Settlement,
  calls?: ObjectCalls,
): Promise<void> {
  if (calls) calls.partitions++;
  let outcomes: ReceiptOutcome[] | null;
  try {
    outcomes = await callPartition(() => apply(group.handle, subscriptionUid, settlement, group.refs));
  } catch {
    outcomes = null;
  }
  recordOutcomes(plan, group, outcomes);
}

/**
 * Applies `settlement` to the deliveries `receipts` name, one call per partition, all at once.
 * A partition that fails answers `unavailable` for its receipts only (retry those). Results
 * keep the request's order.
 */
export async function settle(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  receipts: readonly string[],
  settlement: Settlement,
  calls?: ObjectCalls,
): Promise<ReceiptResult[]> {
  const plan = await planSettle(env, topic, subscription, receipts);
  await Promise.all(plan.groups.map((group) => settleGroup(plan, group, subscription.uid, settlement, calls)));
  return plan.results;
}
