// Topic statistics.
import { z } from "@hono/zod-openapi";
import { SubscriptionName, TopicName, int } from "./common";
import { SurgeView } from "./topics";

const Counts = {
  ready: int(),
  delayed: int(),
  in_flight: int(),
};

export const StatsResponse = z
  .object({
    topic: TopicName,
    partitions: z.array(
      z.object({
        partition: int(),
        next_offset: int(),
        first_offset: int().nullable(),
        messages: int(),
        bytes: int(),
        rows_written: int().nullable().openapi({
          description: "SQLite rows (index entries included) the partition has written since its object last started; null if unknown",
        }),
        rows_read: int().nullable().openapi({ description: "SQLite rows the partition has read since its object last started; null if unknown" }),
      }),
    ),
    subscriptions: z.array(
      z.object({
        name: SubscriptionName,
        mode: z.enum(["shared", "ordered"]),
        ...Counts,
        oldest_unacked_age_seconds: z.number().nullable(),
        dead_letters_pending: int().openapi({ description: "Dead letters on their way to the dead-letter topic" }),
        surge: SurgeView.extend({
          temporary: z.array(z.object({ partition: int(), ready: int(), delayed: int(), in_flight: int() })),
        }),
        last_seek: z.object({ at: z.string(), to: z.string() }).nullable(),
        partitions: z.array(z.object({ partition: int(), ...Counts })),
      }),
    ),
  })
  .openapi("Stats");

export const RowCountsResponse = z
  .object({
    topic: TopicName,
    partitions: z.array(
      z.object({
        partition: int(),
        rows_written: int().openapi({ description: "SQLite rows (index entries included) written since the partition's object last started" }),
        rows_read: int().openapi({ description: "SQLite rows read since the partition's object last started" }),
      }),
    ),
  })
  .openapi("RowCounts");
