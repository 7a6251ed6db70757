import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { MAX_PARTITIONS_PER_SWEEP } from "../../src/shared/limits";

// The cron at fleet scale (edges F-7, issue 14 item 11): a real local D1 catalog with 10,000
// topics of 4 partitions each, and scheduled() run against it. The catalog is real; the partition
// namespace records the calls it is asked for instead of starting 40,000 objects, so that the
// test counts subrequests (each D1 call and each object call is one) and which partitions each
// run visits.

const TOPICS = 10_000;
const PARTITIONS = 4;
const SUBREQUEST_LIMIT = 1_000;

interface Counts {
  d1: number;
  objectCalls: number;
  visited: string[];
}

/** `env` with a D1 binding that counts its calls and a partition namespace that records them. */
function countingEnv(counts: Counts): Env {
  const db = env.CATALOG;
  const countStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== "function") return value;
        if (property === "bind") return (...args: unknown[]) => countStatement((value as (...a: unknown[]) => D1PreparedStatement).apply(target, args));
        if (["first", "all", "run", "raw"].includes(String(property))) {
          return (...args: unknown[]) => {
            counts.d1++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  const catalog = new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (query: string) => countStatement(target.prepare(query));
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) => {
          counts.d1++;
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const partitions = {
    idFromName: (name: string) => ({ toString: () => name, name }),
    get: (id: { name: string }) =>
      new Proxy(
        {},
        {
          get: (_target, method) => async () => {
            counts.objectCalls++;
            if (method === "sweep") counts.visited.push(id.name);
            return method === "sweep" ? { woken: 0, deleted: 0, subscriptions: [] } : { ok: true };
          },
        },
      ),
  };
  return { ...env, CATALOG: catalog, PARTITION: partitions as unknown as Env["PARTITION"] } as Env;
}

describe("the cron at fleet scale", () => {
  it(`stays within ${SUBREQUEST_LIMIT} subrequests per run over ${TOPICS} topics (${TOPICS * PARTITIONS} partitions), and visits every partition within ceil(partitions / ${MAX_PARTITIONS_PER_SWEEP}) runs`, async () => {
    await env.CATALOG.prepare(
      `INSERT INTO topics (name, uid, partitions, created_at, updated_at)
       SELECT printf('zz-sim-%05d', value), printf('sim%05d', value), ?, 0, 0 FROM json_each(?)`,
    )
      .bind(PARTITIONS, JSON.stringify(Array.from({ length: TOPICS }, (_, i) => i)))
      .run();
    // Every topic of the catalog is in the walk: the simulated ones and the other tests' (few).
    const total = (await env.CATALOG.prepare("SELECT SUM(partitions) AS n FROM topics").first<{ n: number }>())!.n;
    const runs = Math.ceil(total / MAX_PARTITIONS_PER_SWEEP);
    const seen = new Map<string, number>();
    let worst = 0;
    let slowestMs = 0;
    for (let run = 0; run < runs; run++) {
      const counts: Counts = { d1: 0, objectCalls: 0, visited: [] };
      const started = Date.now();
      await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: started + run * 60_000 }), countingEnv(counts));
      slowestMs = Math.max(slowestMs, Date.now() - started);
      worst = Math.max(worst, counts.d1 + counts.objectCalls);
      expect(counts.visited.length).toBe(Math.min(MAX_PARTITIONS_PER_SWEEP, total));
      for (const name of counts.visited) seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    console.log(JSON.stringify({ event: "cron_scale", topics: TOPICS, partitions: total, runs, worstSubrequests: worst, slowestRunMs: slowestMs }));
    expect(worst).toBeLessThanOrEqual(SUBREQUEST_LIMIT);
    // Every partition visited, none twice, in `runs` runs.
    const simulated = [...seen.keys()].filter((name) => name.startsWith("sim"));
    expect(simulated).toHaveLength(TOPICS * PARTITIONS);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);
});
