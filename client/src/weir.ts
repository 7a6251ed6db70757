import { produceBatches } from "./batches.js";
import { consume, type BatchHandler, type ConsumeOptions, type Consumer, type MessageHandler } from "./consumer.js";
import { WeirError } from "./errors.js";
import { call, segment, send, type RequestOptions, type Transport } from "./http.js";
import { ndjson } from "./ndjson.js";
import type {
  CreatedKey,
  CreateKeyRequest,
  DecidedTransaction,
  Key,
  Message,
  MessageInput,
  MessageTrace,
  NackOptions,
  PreparedTransaction,
  PrepareTransactionRequest,
  ProduceResult,
  ReceiptResult,
  Received,
  ReceiveOptions,
  RedriveOptions,
  RedriveResult,
  SeekResult,
  SeekTarget,
  Stats,
  StreamEnd,
  StreamOptions,
  Subscription,
  SubscriptionSettings,
  Topic,
  TopicSettings,
  Transaction,
} from "./types.js";

export interface WeirOptions {
  /** The server, e.g. https://weir.example.workers.dev or http://127.0.0.1:8787. */
  url: string;
  /** An API key's secret, or the admin token. */
  token: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

export interface ProduceOptions extends RequestOptions {
  /** Called after each request with how many messages are stored so far. */
  onProgress?: (stored: number, total: number) => void;
}

/**
 * A Weir client: one method per API call (docs/api.md), plus produce's batching and the consume
 * runner. Every failure is a WeirError.
 */
export class Weir {
  readonly #transport: Transport;

  constructor(options: WeirOptions) {
    const fetcher = options.fetch ?? globalThis.fetch;
    this.#transport = {
      url: options.url.replace(/\/+$/, ""),
      token: options.token,
      // Called unbound, the global fetch of some runtimes throws "Illegal invocation".
      fetch: (input, init) => fetcher(input, init),
    };
  }

  // --- topics ---

  /** Creates the topic, or changes the given settings of an existing one. */
  putTopic(topic: string, settings: TopicSettings = {}, options?: RequestOptions): Promise<Topic> {
    return call(this.#transport, "PUT", `/v1/topics/${segment(topic)}`, settings, options);
  }

  getTopic(topic: string, options?: RequestOptions): Promise<Topic> {
    return call(this.#transport, "GET", `/v1/topics/${segment(topic)}`, undefined, options);
  }

  async listTopics(options?: RequestOptions): Promise<Topic[]> {
    return (await call<{ topics: Topic[] }>(this.#transport, "GET", "/v1/topics", undefined, options)).topics;
  }

  /** Deletes the topic with its subscriptions and messages. */
  async deleteTopic(topic: string, options?: RequestOptions): Promise<void> {
    await send(this.#transport, "DELETE", `/v1/topics/${segment(topic)}`, undefined, options);
  }

  // --- subscriptions ---

  /** Creates the subscription, or changes the given settings of an existing one. */
  putSubscription(topic: string, subscription: string, settings: SubscriptionSettings = {}, options?: RequestOptions): Promise<Subscription> {
    return call(this.#transport, "PUT", subscriptionPath(topic, subscription), settings, options);
  }

  getSubscription(topic: string, subscription: string, options?: RequestOptions): Promise<Subscription> {
    return call(this.#transport, "GET", subscriptionPath(topic, subscription), undefined, options);
  }

  async listSubscriptions(topic: string, options?: RequestOptions): Promise<Subscription[]> {
    const path = `/v1/topics/${segment(topic)}/subscriptions`;
    return (await call<{ subscriptions: Subscription[] }>(this.#transport, "GET", path, undefined, options)).subscriptions;
  }

  async deleteSubscription(topic: string, subscription: string, options?: RequestOptions): Promise<void> {
    await send(this.#transport, "DELETE", subscriptionPath(topic, subscription), undefined, options);
  }

  // --- keys ---

  /** A new API key; its `secret` is in this answer only. */
  createKey(key: CreateKeyRequest, options?: RequestOptions): Promise<CreatedKey> {
    return call(this.#transport, "POST", "/v1/keys", key, options);
  }

  async listKeys(options?: RequestOptions): Promise<Key[]> {
    return (await call<{ keys: Key[] }>(this.#transport, "GET", "/v1/keys", undefined, options)).keys;
  }

  async deleteKey(id: string, options?: RequestOptions): Promise<void> {
    await send(this.#transport, "DELETE", `/v1/keys/${segment(id)}`, undefined, options);
  }

  // --- produce ---

  /**
   * Stores the messages and answers their places, in order. Any number of messages: they go in
   * as many requests as the server's limits need (1000 messages, 10 MiB each), one after the
   * other. If a request fails, the earlier ones are stored; produce again with the same `id`s
   * and the stored ones are not stored twice (within the topic's dedup window).
   */
  async produce<Body>(topic: string, messages: readonly MessageInput<Body>[], options: ProduceOptions = {}): Promise<ProduceResult[]> {
    const results: ProduceResult[] = [];
    const path = `/v1/topics/${segment(topic)}/messages`;
    for (const batch of produceBatches(messages)) {
      // With an id on every message, the topic's deduplication makes a repeat harmless.
      const idempotent = batch.every((m) => m.id !== undefined);
      const answer = await call<{ results: ProduceResult[] }>(this.#transport, "POST", path, { messages: batch }, { ...options, idempotent });
      results.push(...answer.results);
      options.onProgress?.(results.length, messages.length);
    }
    return results;
  }

  /** Cancels a message no subscription has received yet (a scheduled one, typically). */
  async cancel(topic: string, id: string, options?: RequestOptions): Promise<void> {
    await send(this.#transport, "DELETE", `/v1/topics/${segment(topic)}/messages/${segment(id)}`, undefined, options);
  }

  /** The message with this id: its state for each subscription, and every event of its life. */
  trace(topic: string, id: string, options?: RequestOptions): Promise<MessageTrace> {
    return call(this.#transport, "GET", `/v1/topics/${segment(topic)}/messages/${segment(id)}`, undefined, options);
  }

  // --- transactions (docs/transactions.md) ---

  /**
   * Stores the messages as one prepared transaction (at most 1000 messages / 10 MiB: no
   * splitting, it is one unit): none is delivered until commitTransaction. Unresolved at its
   * timeout, it is rolled back, or with `check` Weir asks your `check.url`.
   */
  prepareTransaction<Body>(topic: string, request: PrepareTransactionRequest<Body>, options?: RequestOptions): Promise<PreparedTransaction> {
    return call(this.#transport, "POST", `/v1/topics/${segment(topic)}/transactions`, request, options);
  }

  /** Commits: the messages get their offsets and are delivered. Repeating it answers the same. */
  commitTransaction(topic: string, id: string, options?: RequestOptions): Promise<DecidedTransaction> {
    return call(this.#transport, "POST", `${transactionPath(topic, id)}/commit`, undefined, { ...options, idempotent: true });
  }

  /** Rolls back: the messages are never delivered. Repeatable. */
  rollbackTransaction(topic: string, id: string, options?: RequestOptions): Promise<DecidedTransaction> {
    return call(this.#transport, "POST", `${transactionPath(topic, id)}/rollback`, undefined, { ...options, idempotent: true });
  }

  async getTransaction(topic: string, id: string, options?: RequestOptions): Promise<Transaction> {
    return (await call<{ transaction: Transaction }>(this.#transport, "GET", transactionPath(topic, id), undefined, options)).transaction;
  }

  // --- consume ---

  /**
   * Leases up to `max_messages` (default 1), waiting up to `wait_seconds` (default 0) for the
   * first. With `ack`, acknowledges those receipts first, in the same request.
   */
  async receive<Body = unknown>(topic: string, subscription: string, request: ReceiveOptions = {}, options?: RequestOptions): Promise<Received<Body>> {
    // A repeated receive leases again; what the lost one leased comes back when its lease ends.
    return call(this.#transport, "POST", `${subscriptionPath(topic, subscription)}/receive`, request, { ...options, idempotent: true });
  }

  /** Acknowledges deliveries: one result per receipt, in order. */
  async ack(topic: string, subscription: string, receipts: readonly string[], options?: RequestOptions): Promise<ReceiptResult[]> {
    return this.#settle(topic, subscription, "ack", { receipts }, options);
  }

  /**
   * Gives deliveries back: redelivered after `delay_seconds` (default: the subscription's retry
   * back-off), or dead-lettered at once with `dead_letter: true` and a `reason`.
   */
  async nack(topic: string, subscription: string, receipts: readonly string[], nack: NackOptions = {}, options?: RequestOptions): Promise<ReceiptResult[]> {
    return this.#settle(topic, subscription, "nack", { receipts, ...nack }, options);
  }

  /** Extends leases to end `seconds` from now. */
  async extend(topic: string, subscription: string, receipts: readonly string[], seconds: number, options?: RequestOptions): Promise<ReceiptResult[]> {
    return this.#settle(topic, subscription, "extend", { receipts, visibility_timeout_seconds: seconds }, options);
  }

  async #settle(topic: string, subscription: string, action: string, body: object, options?: RequestOptions): Promise<ReceiptResult[]> {
    const path = `${subscriptionPath(topic, subscription)}/${action}`;
    // Acks and extends are idempotent; a repeated nack is refused per item, changing nothing.
    return (await call<{ results: ReceiptResult[] }>(this.#transport, "POST", path, body, { ...options, idempotent: true })).results;
  }

  /**
   * A stream (POST …/stream): yields each batch of messages the moment the server leases it,
   * until the stream ends, and returns its end line. An `error` line throws a WeirError.
   * Breaking out of the loop closes the stream.
   */
  async *stream<Body = unknown>(
    topic: string,
    subscription: string,
    request: StreamOptions = {},
    options?: RequestOptions,
  ): AsyncGenerator<Message<Body>[], StreamEnd | null> {
    const response = await send(this.#transport, "POST", `${subscriptionPath(topic, subscription)}/stream`, request, { ...options, idempotent: true });
    if (!response.body) return null;
    for await (const line of ndjson(response.body, options?.signal)) {
      const parsed = line as { messages?: Message<Body>[]; end?: string; error?: { code: string; message: string } };
      if (parsed.error) throw new WeirError(503, parsed.error.code, parsed.error.message);
      if (parsed.end) return parsed as StreamEnd;
      if (parsed.messages && parsed.messages.length > 0) yield parsed.messages;
    }
    // The connection ended without an end line.
    throw new WeirError(0, "network_error", "the stream ended early; open a new one");
  }

  /** Moves the subscription: `earliest`, `latest`, an RFC 3339 time, or `{partition: offset}`. */
  seek(topic: string, subscription: string, to: SeekTarget, options?: RequestOptions): Promise<SeekResult> {
    return call(this.#transport, "POST", `${subscriptionPath(topic, subscription)}/seek`, { to }, { ...options, idempotent: true });
  }

  /** Moves the subscription's dead letters back (all, up to `max`, or one `reason`). */
  redrive(topic: string, subscription: string, redrive: RedriveOptions = {}, options?: RequestOptions): Promise<RedriveResult> {
    // A redrive is safe to repeat: nothing moves twice.
    return call(this.#transport, "POST", `${subscriptionPath(topic, subscription)}/redrive`, redrive, { ...options, idempotent: true });
  }

  stats(topic: string, options?: RequestOptions): Promise<Stats> {
    return call(this.#transport, "GET", `/v1/topics/${segment(topic)}/stats`, undefined, options);
  }

  /**
   * Runs `handler` for each message of the subscription until stopped: acks each message whose
   * handler resolves, gives back one whose handler throws (see ConsumeOptions and
   * docs/client.md).
   */
  consume<Body = unknown>(topic: string, subscription: string, handler: MessageHandler<Body>, options?: ConsumeOptions & { batch?: undefined }): Consumer;
  consume<Body = unknown>(topic: string, subscription: string, handler: BatchHandler<Body>, options: ConsumeOptions & { batch: number }): Consumer;
  consume<Body = unknown>(
    topic: string,
    subscription: string,
    handler: MessageHandler<Body> | BatchHandler<Body>,
    options: ConsumeOptions = {},
  ): Consumer {
    return consume(this, topic, subscription, handler, options);
  }
}

function transactionPath(topic: string, id: string): string {
  return `/v1/topics/${segment(topic)}/transactions/${segment(id)}`;
}

function subscriptionPath(topic: string, subscription: string): string {
  return `/v1/topics/${segment(topic)}/subscriptions/${segment(subscription)}`;
}
