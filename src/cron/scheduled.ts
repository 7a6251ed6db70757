import type { Env } from "../env";
import { CronState } from "../catalog/cron-state";
import { randomToken } from "../shared/ids";
import { CRON_LEASE_MS } from "../shared/limits";
import { sampleHistory } from "./history";
import { runSurges } from "./surge";
import { SWEEP_START, sweepPartitions, type SweepCursor } from "./sweep";
import { retireTombstones } from "./tombstones";

/**
 * The cron trigger (every minute, wrangler.toml): the fleet-wide duties, each under a lease in
 * the catalog so that a run that outlasts its minute (or a manual trigger during a run) never
 * does the same duty as another run at once, and each in its own try: one that fails does not
 * stop the others. Its cost is bounded by the work due, not by the size of the fleet
 * (docs/architecture.md, "The cron trigger").
 */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const state = new CronState(env.CATALOG);
  const holder = randomToken(8);
  const now = Date.now();
  await duty(state, "tombstones", holder, now, async () => {
    const report = await retireTombstones(env, now);
    if (report.retired + report.pending > 0) console.log(JSON.stringify({ event: "tombstones", ...report }));
  });
  await duty(state, "sweep", holder, now, async () => {
    const cursor = parseCursor(await state.value("sweep"));
    const { next, ...report } = await sweepPartitions(env, cursor);
    await state.setValue("sweep", JSON.stringify(next));
    console.log(JSON.stringify({ event: "sweep", cron: controller.cron, ...report }));
  });
  await duty(state, "surge", holder, now, async () => {
    const { last, ...report } = await runSurges(env, now, await state.value("surge"));
    if (last !== null) await state.setValue("surge", report.deferred > 0 ? last : "");
    if (report.checked > 0) console.log(JSON.stringify({ event: "surge", ...report }));
  });
  // The dashboard's charts: one sample of at most MAX_HISTORY_TOPICS_PER_RUN topics.
  await duty(state, "history", holder, now, async () => {
    const report = await sampleHistory(env, now);
    if (report.failed > 0) console.log(JSON.stringify({ event: "history", ...report }));
  });
}

async function duty(state: CronState, name: string, holder: string, now: number, work: () => Promise<void>): Promise<void> {
  try {
    if (!(await state.acquire(name, holder, now, CRON_LEASE_MS))) {
      console.log(JSON.stringify({ event: "cron_duty_skipped", duty: name, reason: "another run holds it" }));
      return;
    }
  } catch (error) {
    console.error(JSON.stringify({ event: "cron_duty_failed", duty: name, message: String(error) }));
    return;
  }
  try {
    await work();
  } catch (error) {
    console.error(JSON.stringify({ event: "cron_duty_failed", duty: name, message: String(error) }));
  } finally {
    await state.release(name, holder).catch(() => undefined);
  }
}

function parseCursor(text: string | null): SweepCursor {
  if (!text) return SWEEP_START;
  try {
    const value = JSON.parse(text) as Partial<SweepCursor>;
    return typeof value.topic === "string" && Number.isSafeInteger(value.index) ? { topic: value.topic, index: value.index! } : SWEEP_START;
  } catch {
    return SWEEP_START;
  }
}
