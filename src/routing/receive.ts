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
 * 1. A lease pass asks every partition at once, each for its share of `max` (shares start at
 *    a random partition, so none is starved), and tops up from those that had more.
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

/** Leases up to `max` messages spread over `partitions`; see `receive`. */
async function leasePass(
  partitions: readonly PartitionHandle[],
  spec: SubscriptionSpec,
  { max, visibilityMs, filter }: ReceiveOptions,
): Promise<Delivery[]> {
  const start = Math.floor(Math.random() * partitions.length);
  const order = partitions.map((_, i) => partitions[(start + i) % partitions.length]!);
  const shares = order.map((_, i) => Math.floor(max / order.length) + (i < max % order.length ? 1 : 0));

  const deliveries: Delivery[] = [];
  // A partition with share 0 is asked only whether it has anything, for the top-up round.
  let round = order.map((handle, i) => ({ handle, share: shares[i]! }));
  for (let pass = 0; pass < 2 && round.length > 0; pass++) {
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
    if (failure !== null && deliveries.length === 0 && withMore.length === 0) throw failure;
    const left = max - deliveries.length;
    if (left <= 0 || withMore.length === 0) break;
    round = withMore.map((handle, i) => ({
      handle,
      share: Math.floor(left / withMore.length) + (i < left % withMore.length ? 1 : 0),
    }));
    round = round.filter((r) => r.share > 0);
  }
  return deliveries;
}
