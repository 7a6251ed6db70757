// Shapes every resource uses: names, path parameters, the error body.
import { z } from "@hono/zod-openapi";
import * as L from "../../shared/limits";

export const TopicName = z
  .string()
  .regex(L.NAME_PATTERN, "must be 1 to 128 characters of A-Z a-z 0-9 . _ -")
  .openapi({ example: "orders" });

export const SubscriptionName = TopicName.openapi({ example: "billing" });

export const TopicParams = z.object({ topic: TopicName.openapi({ param: { name: "topic", in: "path" } }) });

export const SubscriptionParams = TopicParams.extend({
  subscription: SubscriptionName.openapi({ param: { name: "subscription", in: "path" } }),
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string().openapi({ example: "messages[0].priority: must be at most 9" }),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

/** An integer. */
export const int = () => z.number().int();
