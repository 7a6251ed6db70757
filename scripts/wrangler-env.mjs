// How this project runs wrangler locally: no telemetry, no update checks, nothing that needs
// the network. Shared by `npm start`, the end-to-end tests and the benchmark.
import { fileURLToPath } from "node:url";

export const wranglerBin = fileURLToPath(new URL("../node_modules/.bin/wrangler", import.meta.url));

export function localEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    // The banner's update check and the Request.cf download both reach the internet.
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    CI: process.env.CI ?? "",
    ...extra,
  };
}
