import { describe, expect, it } from "vitest";
import type { TopicRecord } from "../../src/catalog/records";
import { historyTopics } from "../../src/cron/history";
import { HISTORY_CALLS_PER_RUN, MAX_HISTORY_TOPICS_PER_RUN } from "../../src/shared/limits";

const topic = (name: string, partitions: number) => ({ name, partitions }) as TopicRecord;

describe("the topics a history run samples", () => {
  it("are every topic of a small fleet, every minute", () => {
    const topics = [topic("a", 1), topic("b", 4), topic("c", 2)];
    expect(historyTopics(topics, 0).map((t) => t.name)).toEqual(["a", "b", "c"]);
    expect(historyTopics(topics, 7).map((t) => t.name)).toEqual(["a", "b", "c"]);
  });

  it("stay within the run's subrequests, and take turns so a big fleet is sampled in full", () => {
    const topics = Array.from({ length: 100 }, (_, i) => topic(`t${i}`, 1));
    const seen = new Set<string>();
    const turns = Math.ceil(100 / MAX_HISTORY_TOPICS_PER_RUN);
    for (let minute = 0; minute < turns; minute++) {
      const chosen = historyTopics(topics, minute);
      expect(chosen.reduce((n, t) => n + 1 + t.partitions, 0)).toBeLessThanOrEqual(HISTORY_CALLS_PER_RUN);
      for (const t of chosen) seen.add(t.name);
    }
    expect(seen.size).toBe(100);
  });

  it("leave out a topic too big for the budget on its own", () => {
    expect(historyTopics([topic("huge", 256), topic("small", 1)], 0).map((t) => t.name)).toEqual(["small"]);
  });
});
