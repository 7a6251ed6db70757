import type { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";

/** `messages[0].headers.x` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(body)" : out;
}

/** A 400 that names every field zod refused; the message names the first. */
export function validationError(error: z.ZodError): ApiError {
  const details = error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  const first = details[0] ?? { path: "(body)", message: "invalid" };
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : "";
  return new ApiError("invalid_request", `${first.path}: ${first.message}${more}`, details);
}
