import type { HeaderFilter, LeasedMessage, SubscriptionSpec } from "../shared/partition-api";
import { callPartition, type PartitionHandle } from "./partitions";

export interface Delivery {
  partition: number;
  message: LeasedMessage;
}

export interface ReceiveOptions {
  max: number;
  visibilityMs: number;
  waitMs: number;
  /** Only messages whose headers match; the others stay for other consumers. */
  filter: HeaderFilter | null;
  /** Aborted when the client has gone: nothing more is leased for it. */
  signal?: AbortSignal;
}

/**
 * One long poll of a subscription across its partitions (docs/architecture.md, "Receive").
 *
 * 1. A lease pass asks one random partition for the whole batch, then the others at once for
 *    what is missing (see leasePass); random starts mean no partition is starved.
 * 2. If that found nothing and the caller may wait, one waiting call per partition parks on
 *    the partition until it has something deliverable or the wait ends. The first to report
 *    triggers a lease pass on that partition alone. Waiting calls lease nothing, so the
 *    receive never leases a message it does not return.
 */
export async function receive(
  partitions: readonly PartitionHandle[],
  spec: SubscriptionSpec,
  options: ReceiveOptions,
): Promise<Delivery[]> {
  const deadline = Date.now() + options.waitMs;
  const first = await leasePass(partitions, spec, options);
  if (first.length > 0 || options.waitMs <= 0) return first;

  const waiting = new Map<number, Promise<{ handle: PartitionHandle; ready: boolean }>>();
  const park = (handle: PartitionHandle): void => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return;
    waiting.set(
      handle.index,
      callPartition(() => handle.stub.awaitDeliverable(spec, remaining, options.filter)).then(
        (ready) => ({ handle, ready }),
        () => ({ handle, ready: false }),
      ),
    );
  };
  for (const handle of partitions) park(handle);

  while (waiting.size > 0 && Date.now() < deadline && !options.signal?.aborted) {
    const { handle, ready } = await Promise.race(waiting.values());
    waiting.delete(handle.index);
    if (!ready || options.signal?.aborted) continue;
    const got = await leasePass([handle], spec, options);
    if (got.length > 0) return got;
    // Another consumer was faster: wait on this partition again.
    park(handle);
  }
  return [];
}

/**
 * Leases up to `max` messages from `partitions`; see `receive`. Round 1 asks one partition,
 * picked at random, for the whole batch: with a backlog that is one call per receive (and one
 * per ack). If it falls short, round 2 asks all the others at once for their shares of what is
 * missing (a share of 0 only asks whether a partition has anything), and round 3 splits what is
 * still missing among those that had more. Shares never add up to more than `max`.
 */
async function leasePass(
  partitions: readonly PartitionHandle[],
  spec: SubscriptionSpec,
  { max, visibilityMs, filter }: ReceiveOptions,
): Promise<Delivery[]> {
  const start = Math.floor(Math.random() * partitions.length);
  const order = partitions.map((_, i) => partitions[(start + i) % partitions.length]!);
  const deliveries: Delivery[] = [];
  let round = [{ handle: order[0]!, share: max }];
  let rest = order.slice(1);
  for (let pass = 0; pass < 3 && round.length > 0; pass++) {
    // allSettled: messages leased on one partition are returned even if another one failed.
    const settled = await Promise.allSettled(
      round.map(async ({ handle, share }) => ({
        handle,
        outcome: await callPartition(async () => handle.stub.lease(spec, share, visibilityMs, filter)),
      })),
    );
    const withMore: PartitionHandle[] = [];
    let failure: unknown = null;
    for (const result of settled) {
      if (result.status === "rejected") {
        failure = result.reason;
        continue;
      }
      const { handle, outcome } = result.value;
      if (!outcome.ok) continue;
      for (const message of outcome.messages) deliveries.push({ partition: handle.index, message });
      if (outcome.more) withMore.push(handle);
    }
    const left = max - deliveries.length;
    if (left <= 0) break;
    // Round 2 asks the partitions not asked yet; later rounds those that had more.
    const candidates = rest.length > 0 ? rest : withMore;
    rest = [];
    if (failure !== null && deliveries.length === 0 && candidates.length === 0) throw failure;
    // In round 2 a share of 0 still asks whether the partition has anything, for round 3.
    const next = split(left, candidates);
    round = pass === 0 ? next : next.filter((r) => r.share > 0);
  }
  return deliveries;
}

/** `total` split as evenly as possible over `handles`, the first ones getting the remainder. */
function split(total: number, handles: readonly PartitionHandle[]): { handle: PartitionHandle; share: number }[] {
  return handles.map((handle, i) => ({
    handle,
    share: Math.floor(total / handles.length) + (i < total % handles.length ? 1 : 0),
  }));
}
