import type { ArmReport, HeaderFilter, LeasedMessage, ReceiptOutcome, ReceiptRef, SubscriptionSpec } from "../shared/partition-api";
import { LEASE_BUDGET_BYTES, LEASE_PASS_ROUNDS, MAX_STORED_MESSAGE_BYTES, TOP_UP_PASSES } from "../shared/limits";
import { storedMessageBytes } from "../shared/bytes";
import { IsolateMemo } from "../shared/isolate-memo";
import { callPartition } from "./failures";
import type { DoorbellHandle, PartitionHandle } from "./handles";

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
  /** Runs work that may finish after the answer (the Worker's waitUntil). */
  background?: (work: Promise<unknown>) => void;
  /**
   * For one receive of a series (a stream): partitions the previous ones left empty, not yet
   * told to the doorbell. Given, the receive starts with the doorbell (its list of partitions
   * that may have messages) instead of a lease on a random partition, and leaves its own such
   * reports here for the next one instead of sending them after answering.
   */
  unreported?: ArmReport[];
  /**
   * Acks of one partition that the receive carries to it: its first lease is there, in the
   * same call (a consumer acking its last batch with its next receive pays one partition call
   * for both where its messages came from). `done` gets their outcomes, or null when the call
   * failed; it is called once the call is made (an unfiltered receive always makes it first).
   */
  ack?: CarriedAck;
}

/** Acks that ride on a receive's first lease: see ReceiveOptions.ack. */
export interface CarriedAck {
  index: number;
  refs: ReceiptRef[];
  done: (outcomes: readonly ReceiptOutcome[] | null) => void;
}

/**
 * The calls one receive made to partition objects and to its doorbell: what it cost, answered
 * to the client in headers (docs/api.md) and read by the bench.
 */
export interface ObjectCalls {
  partitions: number;
  doorbell: number;
}

/**
 * One long poll of a subscription across its partitions (docs/architecture.md, "Receive").
 *
 * 1. One partition, picked at random, is asked for the whole batch: with a backlog that is
 *    the only call, and random picks mean no partition is starved. A receive that may wait
 *    first asks the doorbell which partitions may have messages (a call without SQL; among
 *    competing consumers a random lease mostly finds nothing), picks one of those, and if it
 *    falls short asks the others it named, then answers. A receive that carries acks of one
 *    partition (`options.ack`) asks that partition first instead, in the ack's own call.
 * 2. If it falls short, the subscription's doorbell (src/doorbell) answers which partitions may
 *    have messages: all but those a lease left empty and that have not rung since. A lease pass
 *    asks those for what is missing. (Not when the first pass asked every partition and none has
 *    more, as in a one-partition topic: it answers then.) Every lease that leaves its partition empty arms it to
 *    ring the doorbell, and the receive reports that with its next doorbell call.
 * 3. When nothing was found and the caller may wait, that doorbell call waits: it answers when
 *    a partition rings, a lease pass asks that partition, and the receive answers with what it
 *    got (no top-up: the doorbell believed the others empty); or it answers nothing when the
 *    wait is over. An idle consumer so costs one partition call and one doorbell call per
 *    wait, however many partitions the topic has.
 *
 * A receive of a series (a stream, `unreported` given) skips step 1 and starts with the doorbell,
 * handing it what the previous receive left empty, and answers as soon as it has messages
 * (no top-up): 1 doorbell call and 1 lease per batch.
 *
 * Waiting calls lease nothing, so a receive never leases a message it does not return. A
 * receive with a header filter sees only matching messages, cannot tell that a partition is
 * empty, and waits on every partition instead (waitOnPartitions); so does one whose doorbell
 * failed.
 */
export async function receive(
  partitions: readonly PartitionHandle[],
  doorbell: DoorbellHandle,
  spec: SubscriptionSpec,
  options: ReceiveOptions,
  calls: ObjectCalls,
): Promise<Delivery[]> {
  const deadline = Date.now() + options.waitMs;
  if (options.filter !== null) {
    const first = await leaseInTwoRounds(partitions, spec, options, calls);
    if (first.length > 0 || options.waitMs <= 0) return first;
    return waitOnPartitions(partitions, spec, options, deadline, calls);
  }
  const deliveries = await receiveUnfiltered(partitions, doorbell, spec, options, calls, deadline);
  if (!options.unreported) noteBacklog(spec.uid, deliveries.length >= options.max);
  return deliveries;
}

/**
 * Reports of partitions left empty that a receive answered without telling the doorbell, per
 * doorbell, in this isolate: the next receive of the subscription here hands them over with its
 * own doorbell call, instead of a call of their own after each answer. A report never sent only
 * costs a later lease that finds the partition empty (and arms it again).
 */
const heldReports = new IsolateMemo<string, ArmReport[]>(10_000);
/** Reports held per doorbell at most: the newest (a partition's later report replaces its earlier). */
const HELD_REPORTS_EACH = 256;

function holdReports(doorbell: string, reports: readonly ArmReport[]): void {
  if (reports.length === 0) return;
  const list = [...(heldReports.get(doorbell) ?? []), ...reports];
  heldReports.set(doorbell, list.slice(-HELD_REPORTS_EACH));
}

function takeHeldReports(doorbell: string): ArmReport[] {
  const list = heldReports.get(doorbell) ?? [];
  heldReports.delete(doorbell);
  return list;
}

/**
 * Subscriptions whose last receive in this isolate came back full: a backlog. Their next receive
 * that may wait leases first, as one that may not wait does (one call a batch), instead of
 * asking the doorbell first (a call more a batch). A hint only: either start is correct.
 */
const backlogged = new IsolateMemo<string, true>(10_000);

function noteBacklog(subscriptionUid: string, full: boolean): void {
  if (full) backlogged.set(subscriptionUid, true);
  else backlogged.delete(subscriptionUid);
}

async function receiveUnfiltered(
  partitions: readonly PartitionHandle[],
  doorbell: DoorbellHandle,
  spec: SubscriptionSpec,
  options: ReceiveOptions,
  calls: ObjectCalls,
  deadline: number,
): Promise<Delivery[]> {
  const byIndex = new Map(partitions.map((handle) => [handle.index, handle]));
  const deliveries: Delivery[] = [];
  const unreported = options.unreported;
  const random = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;
  // A receive that may wait starts at the doorbell: a call without SQL that answers which
  // partitions may have messages (or parks), where a lease on a random partition would most
  // often find nothing among competing consumers. One that may not wait starts with a lease, and
  // so does one whose subscription's last receive here was full (a backlog). A receive that
  // carries acks leases first where they go, in the same call.
  const carried = options.ack && !unreported ? byIndex.get(options.ack.index) : undefined;
  const leaseFirst = options.waitMs <= 0 || backlogged.has(spec.uid);
  let atDoorbellFirst = !carried && (unreported !== undefined || !leaseFirst);
  let ask = carried ? [carried] : atDoorbellFirst ? [] : [random(partitions)];
  let carry = carried ? options.ack : undefined;
  // The rest of the doorbell's first answer, asked only if the first lease falls short; after
  // that pass the receive answers what it has (`lastPass`) instead of asking the doorbell again.
  let spare: PartitionHandle[] = [];
  let lastPass = false;
  // Partitions the passes left empty (and armed), not yet told to the doorbell; for a receive of
  // a series, also those the previous receives left; for another, those held for its doorbell.
  const reports: ArmReport[] = unreported ? unreported.splice(0) : takeHeldReports(doorbell.name);
  // Whether the partitions asked now are those a doorbell wait answered with: a ring.
  let rung = false;
  for (let topUps = 0; ; ) {
    // With nothing to ask (a series' first step, or a wait that named no partition) this calls nobody.
    const budget = LEASE_BUDGET_BYTES - bytesOf(deliveries);
    const pass = await leasePass(ask, spec, { ...options, max: options.max - deliveries.length }, doorbell.name, calls, budget, carry);
    carry = undefined;
    reports.push(...pass.reports);
    deliveries.push(...pass.deliveries);
    // A partition that neither gave nor armed (it failed, or its topic is gone) is not asked again.
    for (const index of pass.silent) byIndex.delete(index);
    // Unavailable (503, retryable) only when no partition is left to ask.
    if (pass.failure !== null && deliveries.length === 0 && byIndex.size === 0) throw pass.failure;
    // Messages that came with a ring are answered at once: the doorbell believed every other
    // partition empty, so a top-up would only delay them. A receive of a series answers what it
    // has too: the next one starts at the doorbell anyway. So does one whose pass asked every
    // partition it has and heard of nothing more (a one-partition topic): no one is left to ask.
    const answerNow = deliveries.length > 0 && (rung || lastPass || askedEveryone(pass, byIndex) || unreported !== undefined || ++topUps > TOP_UP_PASSES);
    const full = deliveries.length >= options.max || !roomFor(deliveries, LEASE_BUDGET_BYTES);
    // A ring wakes only as many waits as its messages need: a woken receive that leaves some
    // behind (it was full, or its client left) wakes the next one.
    if (rung) passOn(doorbell, options.signal?.aborted ? pass.asked : pass.more, calls, options.background);
    if (full || options.signal?.aborted || answerNow) {
      // Partitions this pass left empty are news for the doorbell: the next receive (of the
      // series, or of the subscription in this isolate) tells it with its own doorbell call.
      if (unreported) unreported.push(...reports);
      else holdReports(doorbell.name, reports);
      return deliveries;
    }
    if (spare.length > 0) {
      [ask, spare, rung, lastPass] = [spare, [], false, true];
      continue;
    }
    lastPass = false;
    const waitMs = deliveries.length > 0 ? 0 : deadline - Date.now();
    let ready: number[];
    try {
      calls.doorbell++;
      ready = await doorbell.stub.wait([...byIndex.keys()], reports.splice(0), Math.max(0, waitMs), options.max - deliveries.length);
    } catch (error) {
      console.error(JSON.stringify({ event: "doorbell_call_failed", message: String(error) }));
      if (deliveries.length > 0 || waitMs <= 0) return deliveries;
      return waitOnPartitions([...byIndex.values()], spec, options, deadline, calls);
    }
    ask = ready.flatMap((index) => byIndex.get(index) ?? []);
    rung = waitMs > 0 && ask.length > 0;
    // The doorbell's first answer names every partition it does not believe empty: as a receive
    // without it would, ask one of them for the whole batch first (a backlog costs that one
    // lease), and the others only if it falls short.
    if (atDoorbellFirst && !unreported && ask.length > 1) {
      const first = random(ask);
      [ask, spare, rung] = [[first], ask.filter((handle) => handle !== first), false];
    }
    atDoorbellFirst = false;
    // The client left while this waited: lease nothing for it (and hand a ring on).
    if (options.signal?.aborted) {
      if (rung) passOn(doorbell, ask.map((handle) => handle.index), calls, options.background);
      return deliveries;
    }
    if (ask.length === 0 && (deliveries.length > 0 || Date.now() >= deadline || waitMs <= 0)) return deliveries;
  }
}

/**
 * Leases from one random partition, then (if that falls short) from all the others: where
 * nothing tells which partitions are empty.
 */
async function leaseInTwoRounds(
  partitions: readonly PartitionHandle[],
  spec: SubscriptionSpec,
  options: ReceiveOptions,
  calls: ObjectCalls,
): Promise<Delivery[]> {
  const start = Math.floor(Math.random() * partitions.length);
  const first = await leasePass([partitions[start]!], spec, options, null, calls);
  const left = options.max - first.deliveries.length;
  const budget = LEASE_BUDGET_BYTES - bytesOf(first.deliveries);
  const others = partitions.filter((_, i) => i !== start);
  const second =
    left > 0 && roomFor(first.deliveries, LEASE_BUDGET_BYTES) && others.length > 0 ? await leasePass(others, spec, { ...options, max: left }, null, calls, budget) : null;
  const deliveries = [...first.deliveries, ...(second?.deliveries ?? [])];
  // Unavailable (503, retryable) only when a call failed and nothing was leased.
  const failure = second ? second.failure ?? first.failure : first.failure;
  if (deliveries.length === 0 && failure !== null) throw failure;
  return deliveries;
}

/**
 * Parks one waiting call on each partition until one has something deliverable (then leases
 * from it) or the deadline passes.
 */
async function waitOnPartitions(
  partitions: readonly PartitionHandle[],
  spec: SubscriptionSpec,
  options: ReceiveOptions,
  deadline: number,
  calls: ObjectCalls,
): Promise<Delivery[]> {
  const waiting = new Map<number, Promise<{ handle: PartitionHandle; ready: boolean }>>();
  const park = (handle: PartitionHandle): void => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return;
    calls.partitions++;
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
    const got = await leasePass([handle], spec, options, null, calls);
    if (got.deliveries.length > 0) return got.deliveries;
    // Another consumer was faster: wait on this partition again.
    park(handle);
  }
  return [];
}

interface LeasePassResult {
  deliveries: Delivery[];
  /** The partitions asked in the first round. */
  asked: number[];
  /** Partitions whose last answer said they have more deliverable. */
  more: number[];
  /** Partitions left empty and armed to ring the doorbell, to report to it. */
  reports: ArmReport[];
  /** Partitions that neither answered messages nor armed: failed, or their topic is gone. */
  silent: number[];
  /** The first failed call, if any. */
  failure: unknown;
}

/**
 * Leases up to `max` messages from `partitions`, in at most LEASE_PASS_ROUNDS rounds: the first splits
 * `max` over all of them (a share of 0 still asks whether a partition has anything, and arms
 * it if not), the later ones split what is still missing over those that had more. Shares
 * never add up to more than `max`. With a doorbell name, partitions left empty arm.
 */
async function leasePass(
  partitions: readonly PartitionHandle[],
  spec: SubscriptionSpec,
  { max, visibilityMs, filter }: ReceiveOptions,
  doorbell: string | null,
  calls: ObjectCalls,
  budgetBytes: number = LEASE_BUDGET_BYTES,
  carry?: CarriedAck,
): Promise<LeasePassResult> {
  const result: LeasePassResult = { deliveries: [], asked: partitions.map((p) => p.index), more: [], reports: [], silent: [], failure: null };
  let asks = split(max, partitions);
  for (let round = 0; round < LEASE_PASS_ROUNDS && asks.length > 0; round++) {
    calls.partitions += asks.length;
    // The byte budget left, split over the partitions asked (each returns at least one message).
    const budget = Math.max(1, Math.floor((budgetBytes - bytesOf(result.deliveries)) / asks.length));
    // allSettled: messages leased on one partition are returned even if another one failed.
    const settled = await Promise.allSettled(
      asks.map(async ({ handle, share }) => {
        const bell = doorbell ? { name: doorbell, index: handle.index } : null;
        const ack = round === 0 && carry?.index === handle.index && filter === null ? carry : undefined;
        if (!ack) return { handle, outcome: await callPartition(async () => handle.stub.lease(spec, share, visibilityMs, filter, bell, budget)) };
        try {
          const both = await callPartition(async () => handle.stub.ackAndLease(spec, ack.refs, share, visibilityMs, bell, budget));
          ack.done(both.acked);
          return { handle, outcome: both.lease };
        } catch (error) {
          ack.done(null);
          throw error;
        }
      }),
    );
    const withMore: PartitionHandle[] = [];
    let failure: unknown = null;
    settled.forEach((settledCall, i) => {
      if (settledCall.status === "rejected") {
        failure = settledCall.reason;
        result.silent.push(asks[i]!.handle.index);
        return;
      }
      const { handle, outcome } = settledCall.value;
      if (!outcome.ok) {
        result.silent.push(handle.index);
        return;
      }
      for (const message of outcome.messages) result.deliveries.push({ partition: handle.index, message });
      if (outcome.more) withMore.push(handle);
      // `armed` is absent from a partition still running code from before doorbells (a rollout).
      if (outcome.armed != null) result.reports.push({ index: handle.index, seq: outcome.armed });
      else if (doorbell !== null && outcome.messages.length === 0 && !outcome.more) result.silent.push(handle.index);
    });
    result.failure ??= failure;
    result.more = withMore.map((handle) => handle.index);
    const left = max - result.deliveries.length;
    if (left <= 0 || !roomFor(result.deliveries, budgetBytes)) break;
    asks = split(left, withMore).filter((r) => r.share > 0);
  }
  return result;
}

/** Whether `pass` asked every partition still in `byIndex` and none answered that it has more. */
function askedEveryone(pass: LeasePassResult, byIndex: ReadonlyMap<number, PartitionHandle>): boolean {
  // Indices asked are distinct; those no longer in byIndex (silent) do not count.
  return pass.more.length === 0 && pass.asked.filter((index) => byIndex.has(index)).length === byIndex.size;
}

/** Stored bytes of what a receive holds so far: the byte budget counts these. */
function bytesOf(deliveries: readonly Delivery[]): number {
  let bytes = 0;
  for (const d of deliveries) bytes += storedMessageBytes(d.message);
  return bytes;
}

/**
 * Whether a receive holding `deliveries` may ask for more within `budgetBytes`: a partition
 * returns at least one message, of up to MAX_STORED_MESSAGE_BYTES, so only while that fits.
 */
function roomFor(deliveries: readonly Delivery[], budgetBytes: number): boolean {
  return budgetBytes - bytesOf(deliveries) >= MAX_STORED_MESSAGE_BYTES;
}

/** `total` split as evenly as possible over `handles`, the first ones getting the remainder. */
function split(total: number, handles: readonly PartitionHandle[]): { handle: PartitionHandle; share: number }[] {
  return handles.map((handle, i) => ({
    handle,
    share: Math.floor(total / handles.length) + (i < total % handles.length ? 1 : 0),
  }));
}

/**
 * Tells the doorbell which partitions a series of receives (a stream) left empty and armed,
 * without holding up the caller; a report lost only costs a needless lease later.
 */
export function reportArmed(
  doorbell: DoorbellHandle,
  reports: readonly ArmReport[],
  calls: ObjectCalls,
  background: (work: Promise<unknown>) => void,
): void {
  if (reports.length === 0) return;
  calls.doorbell++;
  background(doorbell.stub.report([...reports]).catch(() => undefined));
}

/**
 * Rings the doorbell again for partitions that a receive woken by a ring left messages on (seq
 * 0: no arm of the partition's own), so that it wakes the next waiting receive; without holding
 * up the caller. Only a woken receive does this, and only when it leaves messages behind.
 */
function passOn(
  doorbell: DoorbellHandle,
  indices: readonly number[],
  calls: ObjectCalls,
  background: ((work: Promise<unknown>) => void) | undefined,
): void {
  if (indices.length === 0 || !background) return;
  for (const index of indices) {
    calls.doorbell++;
    background(doorbell.stub.ring(index, 0, 1).catch(() => undefined));
  }
}
