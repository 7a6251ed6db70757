// Friendly names for the shapes of the API, all taken from the generated src/openapi.ts.
import type { components } from "./openapi.js";

type Schemas = components["schemas"];

export type Topic = Schemas["Topic"];
/** PUT /v1/topics/{topic}: a setting left out keeps its value (or its default on a new topic). */
export type TopicSettings = Partial<Schemas["TopicSettings"]>;
export type Subscription = Schemas["Subscription"];
export type SubscriptionSettings = Partial<Schemas["SubscriptionSettings"]>;
export type Key = Schemas["Key"];
/** A new key: `secret` is shown this once. */
export type CreatedKey = Schemas["CreatedKey"];
export type CreateKeyRequest = Schemas["CreateKeyRequest"];
export type Stats = Schemas["Stats"];

/** A message to produce; `body` is any JSON value. */
export type MessageInput<Body = unknown> = Omit<Schemas["MessageInput"], "body"> & { body: Body };
export type ProduceResult = Schemas["ProduceResponse"]["results"][number];

/** A delivered message, with the receipt that acks, nacks or extends this delivery of it. */
export type Message<Body = unknown> = Omit<Schemas["DeliveredMessage"], "body"> & { body: Body };

export type ReceiveOptions = Partial<Omit<Schemas["ReceiveRequest"], "filter">> & {
  /** Only messages whose headers have all these values. */
  filter?: { headers: Record<string, string> };
};
export type ReceiptResult = Schemas["ReceiptResults"]["results"][number];
export interface Received<Body = unknown> {
  messages: Message<Body>[];
  /** One result per receipt of the request's `ack`, when it had one. */
  acked?: ReceiptResult[];
}

export type NackOptions = Partial<Omit<Schemas["NackRequest"], "receipts">>;
export type StreamOptions = Partial<Omit<Schemas["StreamRequest"], "filter">> & {
  filter?: { headers: Record<string, string> };
};
/** The last line of a stream that ended normally. */
export type StreamEnd = Extract<Schemas["StreamLine"], { end: string }>;
export type SeekTarget = Schemas["SeekRequest"]["to"];
export type SeekResult = Schemas["SeekResponse"];
export type RedriveOptions = Schemas["RedriveRequest"];
export type RedriveResult = Schemas["RedriveResponse"];

/** POST /v1/topics/{topic}/transactions: messages stored, delivered only once committed. */
export type PrepareTransactionRequest<Body = unknown> = Omit<Schemas["PrepareTransactionRequest"], "messages"> & {
  messages: MessageInput<Body>[];
};
export type Transaction = Schemas["Transaction"];
export type PreparedTransaction = Schemas["PreparedTransaction"];
export type DecidedTransaction = Schemas["DecidedTransaction"];
/** GET /v1/topics/{topic}/messages/{id}: a message, its state per subscription, and its history. */
export type MessageTrace = Schemas["MessageTrace"];
