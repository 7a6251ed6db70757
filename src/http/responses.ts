import { ErrorSchema } from "./schemas/common";

const error = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const commonErrors = {
  400: error("Invalid input; the message and details name the field"),
  401: error("Missing or unknown API key"),
  403: error("The API key lacks the route's scope"),
  503: error("Retryable failure; see Retry-After"),
} as const;

export const notFound = { 404: error("Unknown topic or subscription") } as const;
export const conflict = { 409: error("The change cannot apply to the existing resource") } as const;
export const tooLarge = { 413: error("Message or request too large") } as const;

export function jsonBody<T>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}

export function jsonResponse<T>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}
