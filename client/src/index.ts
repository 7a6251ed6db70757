// @weir/client: fetch only, no Node built-ins, so it runs in Node ≥ 20, browsers and Workers.
export { Weir, type WeirOptions, type ProduceOptions } from "./weir.js";
export { WeirError, DoNotRetry, type WeirErrorCode } from "./errors.js";
export type {
  BatchHandler,
  ConsumeOptions,
  Consumer,
  ConsumerCounts,
  ErrorStage,
  MessageHandler,
  Outcome,
} from "./consumer.js";
export type { Backoff } from "./backoff.js";
export type { RequestOptions } from "./http.js";
export type * from "./types.js";
export type { paths, components } from "./openapi.js";
