// The surge state machine, pure: what the cron should do next for one subscription, given what
// it observed. The cron (surge.ts) does the effects. docs/surge.md tells the story.
import type { SubscriptionRecord, SurgeState } from "../catalog/records";
import { MAX_SURGE_PARTITIONS } from "../shared/limits";

export const ORDERED_SURGE_REFUSED =
  "ordered subscriptions are not surged: a key's messages would need a hand-off between partitions that keeps them one at a time, which Weir does not do yet";

/** The surge state of a subscription with no surge running. */
export const SURGE_OFF: SurgeState = {
  surgeState: "off",
  surgePartitions: 0,
  surgeStartedAt: null,
  surgeCalmSince: null,
  surgeNote: null,
};

/** What the cron saw of a subscription's backlog on the topic's own partitions. */
export interface BacklogObservation {
  /** Messages ready across the topic's partitions. */
  depth: number;
  /** produced_at of the oldest unacked message there, or null. */
  oldestUnackedAt: number | null;
}

export interface SurgeDecision {
  /** The state to record (unchanged when nothing changes). */
  next: SurgeState;
  /** A new surge starts: record it before any message moves, so receives read the temporary partitions. */
  started: boolean;
  /** What the sources should move: their backlog (active), only moves a crash left half done (draining), nothing. */
  move: "backlog" | "pending" | "none";
  /** The cool-down is over: fold back (SURGE_OFF) once the temporary partitions are empty. */
  foldWhenDrained: boolean;
}

export function currentSurge(subscription: SubscriptionRecord): SurgeState {
  return {
    surgeState: subscription.surgeState,
    surgePartitions: subscription.surgePartitions,
    surgeStartedAt: subscription.surgeStartedAt,
    surgeCalmSince: subscription.surgeCalmSince,
    surgeNote: subscription.surgeNote,
  };
}

/** Whether the backlog is over the subscription's trigger (by depth or by age) and surge is on. */
export function overTrigger(subscription: SubscriptionRecord, observed: BacklogObservation, now: number): boolean {
  const ageSeconds = observed.oldestUnackedAt === null ? 0 : (now - observed.oldestUnackedAt) / 1000;
  return (
    subscription.surgeEnabled &&
    ((subscription.surgeTriggerDepth !== null && observed.depth >= subscription.surgeTriggerDepth) ||
      (subscription.surgeTriggerAgeSeconds !== null && ageSeconds >= subscription.surgeTriggerAgeSeconds))
  );
}

/**
 * off → active when the trigger is passed (never for ordered subscriptions: they get a note);
 * active → draining when it clears (the calm starts); draining → active when it is passed
 * again; draining → off once calm for the cool-down and the temporary partitions are empty
 * (the cron checks that, foldWhenDrained).
 */
export function nextSurgeState(
  subscription: SubscriptionRecord,
  topicPartitions: number,
  observed: BacklogObservation,
  now: number,
): SurgeDecision {
  const current = currentSurge(subscription);
  const over = overTrigger(subscription, observed, now);
  if (current.surgeState === "off") {
    if (subscription.mode === "ordered" || !over) {
      const note = subscription.mode === "ordered" && over ? ORDERED_SURGE_REFUSED : null;
      return { next: { ...current, surgeNote: note }, started: false, move: "none", foldWhenDrained: false };
    }
    const next: SurgeState = {
      surgeState: "active",
      surgePartitions: Math.min(subscription.surgeFactor * topicPartitions, MAX_SURGE_PARTITIONS),
      surgeStartedAt: now,
      surgeCalmSince: null,
      surgeNote: null,
    };
    return { next, started: true, move: "backlog", foldWhenDrained: false };
  }
  if (over) {
    return { next: { ...current, surgeState: "active", surgeCalmSince: null }, started: false, move: "backlog", foldWhenDrained: false };
  }
  const next: SurgeState =
    current.surgeState === "active" ? { ...current, surgeState: "draining", surgeCalmSince: now } : current;
  const calmMs = now - (next.surgeCalmSince ?? now);
  return {
    next,
    started: false,
    move: "pending",
    foldWhenDrained: calmMs >= subscription.surgeCooldownSeconds * 1000,
  };
}

export function sameSurge(a: SurgeState, b: SurgeState): boolean {
  return (
    a.surgeState === b.surgeState &&
    a.surgePartitions === b.surgePartitions &&
    a.surgeStartedAt === b.surgeStartedAt &&
    a.surgeCalmSince === b.surgeCalmSince &&
    a.surgeNote === b.surgeNote
  );
}
