import type { Env } from "./env";
import { createApp } from "./http/app";
import { scheduled } from "./cron/scheduled";
import { handleSqs, isSqsRequest } from "./sqs/protocol";

export { Doorbell } from "./doorbell/doorbell";
export { Partition } from "./partition/partition";
export { RateLimiter } from "./rate-limiter/rate-limiter";

const app = createApp();

export default {
  // The SQS-compatible protocol (src/sqs) is told by its X-Amz-Target header, on any path.
  fetch: (request, env, ctx) => (isSqsRequest(request) ? handleSqs(request, env, ctx) : app.fetch(request, env, ctx)),
  scheduled: (controller, env) => scheduled(controller, env),
} satisfies ExportedHandler<Env>;
