// Seek and redrive.
import { z } from "@hono/zod-openapi";
import * as L from "../../shared/limits";
import { int } from "./common";

export const SeekBody = z
  .strictObject({
    to: z.union([
      z.enum(["earliest", "latest"]),
      z.iso.datetime({ offset: true }).openapi({ description: "the first message produced at or after this time" }),
      z
        .record(z.string().regex(/^(0|[1-9][0-9]{0,2})$/, "must be a partition number"), int().min(0))
        .refine((m) => Object.keys(m).length > 0, { message: "name at least one partition" })
        .openapi({ description: "partition → offset; partitions left out keep their position", example: { "0": 120, "3": 0 } }),
    ]),
  })
  .openapi("SeekRequest");

export const SeekResponse = z
  .object({ partitions: z.array(z.object({ partition: int(), offset: int() })) })
  .openapi("SeekResponse");

export const RedriveBody = z
  .strictObject({
    max: int()
      .min(1)
      .max(L.MAX_REDRIVE_MESSAGES)
      .optional()
      .openapi({ default: L.MAX_REDRIVE_MESSAGES, description: "At most this many in this request; `more` in the answer says whether to call again." }),
    reason: z
      .enum(["max_deliveries", "rejected", "expired", "overflow"])
      .optional()
      .openapi({ description: "Only dead letters with this reason." }),
  })
  .openapi("RedriveRequest");

export const RedriveResponse = z
  .object({
    moved: int().openapi({ description: "Dead letters the subscription will receive again" }),
    missing: int().openapi({ description: "Dead letters whose message is past the source's retention; they stay" }),
    more: z.boolean().openapi({ description: "The request stopped at its max: there may be more; call again" }),
  })
  .openapi("RedriveResponse");
