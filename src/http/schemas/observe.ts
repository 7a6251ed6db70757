// The dashboard's reads: a topic's history and a subscription's dead letters.
import { z } from "@hono/zod-openapi";
import * as L from "../../shared/limits";
import { int } from "./common";

export const HistoryQuery = z.object({
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(L.HISTORY_RETENTION_MS / 60_000)
    .optional()
    .openapi({ description: "How far back, in minutes (default 60)" }),
});

export const HistoryResponse = z
  .object({
    topic: z.string(),
    samples: z.array(
      z.object({
        at: z.string().openapi({ format: "date-time" }),
        produced_total: int(),
        acked_total: int(),
        backlog: int(),
        in_flight: int(),
        dead_letters: int(),
      }),
    ),
  })
  .openapi("TopicHistory");

export const DeadLettersQuery = z.object({
  max: z.coerce
    .number()
    .int()
    .min(1)
    .max(L.MAX_DEAD_LETTER_PAGE)
    .optional()
    .openapi({ description: `How many to show (default 20, at most ${L.MAX_DEAD_LETTER_PAGE})` }),
});

export const DeadLettersResponse = z
  .object({
    dead_letter_topic: z.string().nullable(),
    total: int().openapi({ description: "Dead letters of this subscription not yet redriven" }),
    dead_letters: z.array(
      z.object({
        id: z.string(),
        partition: int(),
        offset: int(),
        reason: z.string().nullable(),
        attempts: int().nullable(),
        dead_lettered_at: z.string().nullable(),
        body_preview: z.string().openapi({ description: `The body's JSON text, cut to ${L.DEAD_LETTER_PREVIEW_CHARS} characters` }),
        body_truncated: z.boolean(),
      }),
    ),
  })
  .openapi("DeadLetters");
