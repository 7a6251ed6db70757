import type { Env } from "../env";
import { runSurges } from "./surge";
import { sweepPartitions } from "./sweep";

/** The cron trigger (every minute, wrangler.toml): dispatches the fleet-wide sweeps. */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const runIndex = Math.floor(controller.scheduledTime / 60_000);
  const sweep = await sweepPartitions(env, runIndex);
  console.log(JSON.stringify({ event: "sweep", cron: controller.cron, ...sweep }));
  const surge = await runSurges(env);
  if (surge.checked > 0) console.log(JSON.stringify({ event: "surge", ...surge }));
}
