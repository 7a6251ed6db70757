import type { Env } from "../env";
import { sweepPartitions } from "./sweep";

/** The cron trigger (every minute, wrangler.toml): dispatches the fleet-wide sweeps. */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const runIndex = Math.floor(controller.scheduledTime / 60_000);
  const report = await sweepPartitions(env, runIndex);
  console.log(JSON.stringify({ event: "sweep", cron: controller.cron, ...report }));
}
