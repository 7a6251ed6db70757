import { DEFAULT_BACKOFF, retryDelayMs, sleep, type Backoff } from "./backoff.js";
import { DoNotRetry } from "./errors.js";
import { MAX_RECEIPTS_PER_REQUEST, MAX_RECEIVE_MESSAGES } from "./limits.js";
import type { Message, ReceiptResult } from "./types.js";
import type { Weir } from "./weir.js";

export type MessageHandler<Body = unknown> = (message: Message<Body>) => unknown;
export type BatchHandler<Body = unknown> = (messages: Message<Body>[]) => unknown;

/** Where a consumer met an error. */
export type ErrorStage = "receive" | "handler" | "ack" | "nack" | "extend";

export type Outcome = "acked" | "retried" | "dead_lettered";

export interface ConsumeOptions {
  /** Handlers running at once (default 1); with `batch`, batches at once. */
  concurrency?: number;
  /** Call the handler with arrays of up to this many messages (1–1000) instead of one message. */
  batch?: number;
  /** The lease of each delivery, in seconds (default 30); extended while its handler runs. */
  visibilityTimeoutSeconds?: number;
  /** How long each receive waits for messages, in seconds (default 20, at most 60). */
  waitSeconds?: number;
  /** Only messages whose headers have all these values. */
  filter?: { headers: Record<string, string> };
  /**
   * The delay before a message whose handler threw is delivered again, in seconds; undefined
   * (the default) leaves it to the subscription's retry_backoff.
   */
  retryDelaySeconds?: (messages: Message[], error: unknown) => number | undefined;
  /** The wait after a failed request (doubling, with jitter; Retry-After is honoured). */
  backoff?: Backoff;
  /** Aborting it stops the consumer as stop() does. */
  signal?: AbortSignal;
  /** Every error: failed requests, throwing handlers, lost leases. Default: console.error. */
  onError?: (error: unknown, context: { stage: ErrorStage; messages?: Message[] }) => void;
  /** Progress: messages acked, given back for a retry, or dead-lettered. */
  onSettled?: (outcome: Outcome, messages: Message[]) => void;
}

export interface ConsumerCounts {
  received: number;
  acked: number;
  retried: number;
  deadLettered: number;
  /** Messages whose handlers run now. */
  inFlight: number;
  errors: number;
}

export interface Consumer {
  /**
   * Stops leasing, lets the running handlers finish, acks (or gives back) their messages, and
   * resolves when all of that is done.
   */
  stop(): Promise<void>;
  /** Resolves when the consumer has stopped (by stop() or the signal). */
  readonly done: Promise<void>;
  readonly counts: Readonly<ConsumerCounts>;
}

// Acks that do not ride on a receive go out this soon, together.
const ACK_FLUSH_MS = 20;

/** The consume runner behind Weir.consume (docs/client.md, "Consumer"). */
export function consume<Body>(
  weir: Weir,
  topic: string,
  subscription: string,
  handler: BatchHandler<Body> | MessageHandler<Body>,
  options: ConsumeOptions,
): Consumer {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const batchSize = options.batch === undefined ? null : Math.min(MAX_RECEIVE_MESSAGES, Math.max(1, options.batch));
  const visibility = options.visibilityTimeoutSeconds ?? 30;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const onError =
    options.onError ?? ((error, { stage }) => console.error(`weir consumer ${topic}/${subscription}: ${stage}: ${String(error)}`));
  const counts: ConsumerCounts = { received: 0, acked: 0, retried: 0, deadLettered: 0, inFlight: 0, errors: 0 };

  const stopping = new AbortController();
  let receiving: AbortController | null = null;
  let runningUnits = 0;
  const running = new Set<Promise<void>>();
  // Receipts of messages whose handler is running, with when they were last leased or extended.
  const leases = new Map<string, number>();
  // Acks waiting for the next receive or the next flush.
  let acks: { receipt: string; message: Message }[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let flushing: Promise<void> = Promise.resolve();
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };

  // A hook that throws must not stop the consumer.
  const hook = (call: () => void) => {
    try {
      call();
    } catch {
      // ignored, see above
    }
  };
  const fail = (error: unknown, stage: ErrorStage, messages?: Message[]) => {
    counts.errors++;
    hook(() => onError(error, messages ? { stage, messages } : { stage }));
  };
  const settled = (outcome: Outcome, messages: Message[]) => {
    if (outcome === "acked") counts.acked += messages.length;
    else if (outcome === "retried") counts.retried += messages.length;
    else counts.deadLettered += messages.length;
    hook(() => options.onSettled?.(outcome, messages));
  };
  /** Reports acks the server refused (a stale receipt: the lease ended and the message went on). */
  const ackResults = (results: ReceiptResult[], sent: { receipt: string; message: Message }[]) => {
    const acked: Message[] = [];
    results.forEach((result, i) => {
      const message = sent[i]!.message;
      if (result.ok) acked.push(message);
      else fail(new Error(`ack refused: ${result.error.code}: ${result.error.message}`), "ack", [message]);
    });
    if (acked.length > 0) settled("acked", acked);
  };

  const flush = (): Promise<void> => {
    flushTimer = null;
    flushing = flushing.then(async () => {
      for (let failures = 0; acks.length > 0; ) {
        const sent = acks.splice(0, MAX_RECEIPTS_PER_REQUEST);
        try {
          ackResults(await weir.ack(topic, subscription, sent.map((a) => a.receipt)), sent);
          failures = 0;
        } catch (error) {
          fail(error, "ack", sent.map((a) => a.message));
          // Acks are idempotent: retry while the leases may still hold; then the messages come again.
          if (++failures > 5) return;
          acks.unshift(...sent);
          await sleep(retryDelayMs(error, failures, backoff));
        }
      }
    });
    return flushing;
  };
  const queueAcks = (messages: Message[]) => {
    acks.push(...messages.map((message) => ({ receipt: message.receipt, message })));
    flushTimer ??= setTimeout(() => void flush(), ACK_FLUSH_MS);
  };

  const giveBack = async (messages: Message[], error: unknown) => {
    const receipts = messages.map((m) => m.receipt);
    const deadLetter = error instanceof DoNotRetry;
    try {
      const results = deadLetter
        ? await weir.nack(topic, subscription, receipts, { dead_letter: true, reason: error.reason })
        : await weir.nack(topic, subscription, receipts, nackDelay(options, messages, error));
      const done = messages.filter((_, i) => results[i]?.ok);
      if (done.length > 0) settled(deadLetter ? "dead_lettered" : "retried", done);
      if (done.length < messages.length) fail(new Error("nack refused: the lease had ended"), "nack", messages);
    } catch (nackError) {
      // Not given back: the message comes again when its lease ends.
      fail(nackError, "nack", messages);
    }
  };

  const run = async (messages: Message<Body>[]) => {
    const at = Date.now();
    for (const m of messages) leases.set(m.receipt, at);
    counts.inFlight += messages.length;
    try {
      if (batchSize === null) await (handler as MessageHandler<Body>)(messages[0]!);
      else await (handler as BatchHandler<Body>)(messages);
      for (const m of messages) leases.delete(m.receipt);
      queueAcks(messages);
    } catch (error) {
      for (const m of messages) leases.delete(m.receipt);
      if (!(error instanceof DoNotRetry)) fail(error, "handler", messages);
      await giveBack(messages, error);
    } finally {
      counts.inFlight -= messages.length;
    }
  };
  const start = (messages: Message<Body>[]) => {
    runningUnits++;
    const task = run(messages).finally(() => {
      runningUnits--;
      running.delete(task);
      notify();
    });
    running.add(task);
  };

  // Extends the leases of running handlers a third of the way before they end.
  const extendEveryMs = (visibility * 1000) / 3;
  const extender = setInterval(async () => {
    const now = Date.now();
    const due = [...leases].filter(([, at]) => now - at >= extendEveryMs * 0.9).map(([receipt]) => receipt);
    if (due.length === 0) return;
    for (const receipt of due) leases.set(receipt, now);
    for (let i = 0; i < due.length; i += MAX_RECEIPTS_PER_REQUEST) {
      const chunk = due.slice(i, i + MAX_RECEIPTS_PER_REQUEST);
      try {
        const results = await weir.extend(topic, subscription, chunk, visibility);
        results.forEach((r) => {
          if (!r.ok && leases.delete(r.receipt)) fail(new Error(`lease lost: ${r.error.code}: ${r.error.message}`), "extend");
        });
      } catch (error) {
        fail(error, "extend");
      }
    }
  }, extendEveryMs);

  const poll = async () => {
    for (let failures = 0; !stopping.signal.aborted; ) {
      while (runningUnits >= concurrency && !stopping.signal.aborted) await new Promise<void>((r) => (wake = r));
      if (stopping.signal.aborted) break;
      const free = concurrency - runningUnits;
      const carried = acks.splice(0, MAX_RECEIPTS_PER_REQUEST);
      receiving = new AbortController();
      try {
        const received = await weir.receive<Body>(
          topic,
          subscription,
          {
            max_messages: Math.min(MAX_RECEIVE_MESSAGES, free * (batchSize ?? 1)),
            wait_seconds: options.waitSeconds ?? 20,
            visibility_timeout_seconds: visibility,
            ...(options.filter ? { filter: options.filter } : {}),
            ...(carried.length > 0 ? { ack: carried.map((a) => a.receipt) } : {}),
          },
          { signal: receiving.signal },
        );
        failures = 0;
        if (received.acked) ackResults(received.acked, carried);
        counts.received += received.messages.length;
        const size = batchSize ?? 1;
        for (let i = 0; i < received.messages.length; i += size) start(received.messages.slice(i, i + size));
      } catch (error) {
        // Not known to be acked: send them again (acks are idempotent).
        acks.unshift(...carried);
        if (carried.length > 0) flushTimer ??= setTimeout(() => void flush(), ACK_FLUSH_MS);
        if (stopping.signal.aborted) break;
        fail(error, "receive");
        await sleep(retryDelayMs(error, ++failures, backoff), stopping.signal);
      } finally {
        receiving = null;
      }
    }
  };

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const polling = poll();
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping.abort();
      receiving?.abort();
      notify();
      await polling;
      while (running.size > 0) await Promise.all([...running]);
      clearInterval(extender);
      if (flushTimer) clearTimeout(flushTimer);
      await flush();
      resolveDone();
    })());
  if (options.signal?.aborted) void stop();
  options.signal?.addEventListener("abort", () => void stop(), { once: true });
  return { stop, done, counts };
}

function nackDelay(options: ConsumeOptions, messages: Message[], error: unknown): { delay_seconds?: number } {
  const delay = options.retryDelaySeconds?.(messages, error);
  return delay === undefined ? {} : { delay_seconds: delay };
}
