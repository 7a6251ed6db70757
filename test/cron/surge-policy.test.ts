import { describe, expect, it } from "vitest";
import type { SubscriptionRecord } from "../../src/catalog/records";
import { SUBSCRIPTION_DEFAULTS } from "../../src/catalog/defaults";
import { nextSurgeState, ORDERED_SURGE_REFUSED, SURGE_OFF } from "../../src/cron/surge-policy";
import { MAX_SURGE_PARTITIONS } from "../../src/shared/limits";

const NOW = 1_000_000_000;

function subscription(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    ...SUBSCRIPTION_DEFAULTS,
    ...SURGE_OFF,
    surgeEnabled: true,
    surgeTriggerDepth: 100,
    surgeCooldownSeconds: 60,
    topic: "t",
    name: "s",
    uid: "u",
    createdAt: 0,
    updatedAt: 0,
    lastSeekAt: null,
    lastSeekTo: null,
    ...overrides,
  };
}

const calm = { depth: 0, oldestUnackedAt: null };
const deep = { depth: 100, oldestUnackedAt: NOW - 1000 };

describe("the surge state machine", () => {
  it("stays off under the trigger and when surge is disabled", () => {
    expect(nextSurgeState(subscription(), 2, { depth: 99, oldestUnackedAt: null }, NOW)).toMatchObject({
      next: SURGE_OFF,
      started: false,
      move: "none",
    });
    expect(nextSurgeState(subscription({ surgeEnabled: false }), 2, deep, NOW).started).toBe(false);
  });

  it("starts at the trigger with factor × partitions temporary partitions (at most the limit), generation = now", () => {
    const d = nextSurgeState(subscription({ surgeFactor: 4 }), 2, deep, NOW);
    expect(d).toMatchObject({ started: true, move: "backlog", foldWhenDrained: false });
    expect(d.next).toEqual({ surgeState: "active", surgePartitions: 8, surgeStartedAt: NOW, surgeCalmSince: null, surgeNote: null });
    expect(nextSurgeState(subscription({ surgeFactor: 16 }), 256, deep, NOW).next.surgePartitions).toBe(MAX_SURGE_PARTITIONS);
  });

  it("starts by age too", () => {
    const old = { depth: 1, oldestUnackedAt: NOW - 120_000 };
    expect(nextSurgeState(subscription({ surgeTriggerDepth: null, surgeTriggerAgeSeconds: 60 }), 1, old, NOW).started).toBe(true);
  });

  it("never surges an ordered subscription, and says why while it is over the trigger", () => {
    const d = nextSurgeState(subscription({ mode: "ordered" }), 2, deep, NOW);
    expect(d).toMatchObject({ started: false, move: "none", next: { surgeState: "off", surgeNote: ORDERED_SURGE_REFUSED } });
    expect(nextSurgeState(subscription({ mode: "ordered", surgeNote: ORDERED_SURGE_REFUSED }), 2, calm, NOW).next.surgeNote).toBeNull();
  });

  it("drains once the trigger clears, keeping its partitions, and folds only after the cool-down", () => {
    const active = subscription({ surgeState: "active", surgePartitions: 8, surgeStartedAt: NOW - 5000 });
    const draining = nextSurgeState(active, 2, calm, NOW);
    expect(draining).toMatchObject({ move: "pending", foldWhenDrained: false });
    expect(draining.next).toMatchObject({ surgeState: "draining", surgePartitions: 8, surgeCalmSince: NOW });

    const later = subscription({ ...draining.next });
    expect(nextSurgeState(later, 2, calm, NOW + 59_999).foldWhenDrained).toBe(false);
    expect(nextSurgeState(later, 2, calm, NOW + 60_000)).toMatchObject({ foldWhenDrained: true, move: "pending" });
  });

  it("goes back to active (same generation) when the trigger is passed again while draining", () => {
    const draining = subscription({ surgeState: "draining", surgePartitions: 8, surgeStartedAt: NOW - 5000, surgeCalmSince: NOW - 1000 });
    const d = nextSurgeState(draining, 2, deep, NOW);
    expect(d).toMatchObject({ started: false, move: "backlog" });
    expect(d.next).toMatchObject({ surgeState: "active", surgeStartedAt: NOW - 5000, surgeCalmSince: null });
  });
});
