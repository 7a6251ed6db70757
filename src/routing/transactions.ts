import type { Env } from "../env";
import type { TopicRecord } from "../catalog/records";
import { sortableId } from "../shared/ids";
import type {
  Appended,
  DecideOutcome,
  NewMessage,
  PrepareOutcome,
  TransactionCheck,
  TransactionOpen,
  TransactionView,
} from "../shared/partition-api";
import { transactionHome, transactionId } from "../shared/partition-api";
import { callPartition, PartitionUnavailable } from "./failures";
import { partitionHandle } from "./handles";
import { partitionContext } from "./specs";
import { routeMessages } from "./produce";

// The Worker's side of transactions: where a transaction's messages go, and which partition
// keeps its decision (its home: the partition of its first message, named in its id).
// docs/transactions.md tells the whole story.

/** Expected failures, as values; src/http/transactions.ts words them. */
export type TransactionFailure =
  | { ok: false; code: "transaction_not_found" }
  | { ok: false; code: "transaction_committed" | "transaction_rolled_back"; transaction: TransactionView }
  | { ok: false; code: "too_many_transactions"; limit: number }
  | { ok: false; code: "topic_full"; partition: number; message: string }
  | { ok: false; code: "topic_deleted" }
  /** Committed, but some partition has not applied it yet: repeat the commit. */
  | { ok: false; code: "commit_pending"; transaction: TransactionView };

export interface Prepared {
  ok: true;
  transaction: TransactionView;
  results: { id: string; partition: number }[];
}

export interface Decided {
  ok: true;
  transaction: TransactionView;
  results: (Appended & { id: string; partition: number })[] | null;
}

/**
 * Prepares a transaction: every partition other than the home stores its share first, then
 * the home stores its share and the record, so that a record exists only once every share is
 * durable. On a refusal or a failure the shares already stored are rolled back (best effort:
 * a share whose home never recorded the transaction is rolled back by its own alarm after
 * the timeout). A failure of a partition throws, as callPartition does.
 */
export async function prepareTransaction(
  env: Env,
  topic: TopicRecord,
  messages: readonly NewMessage[],
  options: { timeoutMs: number; check: TransactionCheck | null },
): Promise<Prepared | TransactionFailure> {
  const now = Date.now();
  const targets = routeMessages(messages, topic.partitions);
  const home = targets[0]!;
  const id = transactionId(sortableId(now), home);
  const byPartition = new Map<number, NewMessage[]>();
  targets.forEach((partition, i) => {
    const share = byPartition.get(partition);
    if (share) share.push(messages[i]!);
    else byPartition.set(partition, [messages[i]!]);
  });
  const expiresAt = now + options.timeoutMs;
  const open: TransactionOpen = {
    id,
    createdAt: now,
    expiresAt,
    check: options.check,
    messages: messages.map((m, i) => [m.id, targets[i]!]),
    participants: [...byPartition.keys()],
  };
  const prepareOn = (index: number, withRecord: boolean) => {
    const { stub } = partitionHandle(env, topic, index);
    const share = { id, home, messages: byPartition.get(index)!, preparedAt: now, expiresAt };
    return callPartition<PrepareOutcome>(async () => stub.prepareTransaction(share, partitionContext(topic, index), withRecord ? open : null));
  };
  const others = [...byPartition.keys()].filter((p) => p !== home);
  let refusal: TransactionFailure | null = null;
  const outcomes = await Promise.allSettled(others.map((p) => prepareOn(p, false)));
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) {
    // The home was not asked: no record exists, so no decision but rollback can come.
    await abandon(env, topic, id, others);
    throw failed.reason;
  }
  outcomes.forEach((o, i) => {
    if (o.status === "fulfilled" && !o.value.ok) refusal ??= failure(o.value, others[i]!);
  });
  if (!refusal) {
    // A failure here leaves the shares as they are: the home may have made the record (its
    // answer was lost), and then its decision, whatever it is, must reach every share.
    const outcome = await prepareOn(home, true);
    if (!outcome.ok) refusal = failure(outcome, home);
  }
  if (refusal) {
    await abandon(env, topic, id, others);
    return refusal;
  }
  return {
    ok: true,
    transaction: {
      id,
      state: "prepared",
      reason: null,
      createdAt: now,
      expiresAt,
      decidedAt: null,
      checks: 0,
      check: options.check,
      nextCheckAt: options.check ? expiresAt : null,
    },
    results: messages.map((m, i) => ({ id: m.id, partition: targets[i]! })),
  };
}

function failure(outcome: Exclude<PrepareOutcome, { ok: true }>, partition: number): TransactionFailure {
  switch (outcome.code) {
    case "topic_full":
      return { ok: false, code: "topic_full", partition, message: outcome.message };
    case "too_many_transactions":
      return { ok: false, code: "too_many_transactions", limit: outcome.limit };
    case "topic_deleted":
      return { ok: false, code: "topic_deleted" };
    case "transaction_resolved":
      // A fresh id already decided: only a prepare far slower than its own timeout meets this.
      throw new PartitionUnavailable(`partition ${partition} refused a fresh transaction id as resolved`);
  }
}

/** Rolls back the shares of a prepare that did not complete, best effort. */
async function abandon(env: Env, topic: TopicRecord, id: string, partitions: number[]): Promise<void> {
  await Promise.allSettled(
    partitions.map((p) => partitionHandle(env, topic, p).stub.applyTransaction(id, "rolled_back")),
  );
}

/** The home partition of a transaction id of this topic, or null for an id that names none. */
function home(topic: TopicRecord, id: string): number | null {
  const index = transactionHome(id);
  return index !== null && index < topic.partitions ? index : null;
}

/** Commits: idempotent; `transaction_rolled_back` after a rollback. */
export async function commitTransaction(env: Env, topic: TopicRecord, id: string): Promise<Decided | TransactionFailure> {
  const index = home(topic, id);
  if (index === null) return { ok: false, code: "transaction_not_found" };
  const { stub } = partitionHandle(env, topic, index);
  const outcome = await callPartition<DecideOutcome>(async () => stub.commitTransaction(id));
  if (!outcome.ok) return outcome;
  if (outcome.results === null) return { ok: false, code: "commit_pending", transaction: outcome.transaction };
  return outcome;
}

/** Rolls back: idempotent; `transaction_committed` after a commit. */
export async function rollbackTransaction(env: Env, topic: TopicRecord, id: string): Promise<Decided | TransactionFailure> {
  const index = home(topic, id);
  if (index === null) return { ok: false, code: "transaction_not_found" };
  const { stub } = partitionHandle(env, topic, index);
  const outcome = await callPartition<DecideOutcome>(async () => stub.rollbackTransaction(id));
  return outcome.ok ? { ...outcome, results: null } : outcome;
}

/** The transaction as its home partition keeps it. */
export async function getTransaction(env: Env, topic: TopicRecord, id: string): Promise<TransactionView | null> {
  const index = home(topic, id);
  if (index === null) return null;
  const { stub } = partitionHandle(env, topic, index);
  return callPartition<TransactionView | null>(async () => stub.transaction(id));
}
