import type { Env } from "./env";
import { createApp } from "./http/app";
import { scheduled } from "./cron/scheduled";

export { Doorbell } from "./doorbell/doorbell";
export { Partition } from "./partition/partition";
export { RateLimiter } from "./rate-limiter/rate-limiter";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  scheduled: (controller, env) => scheduled(controller, env),
} satisfies ExportedHandler<Env>;
