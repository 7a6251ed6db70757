import { createRoute, z } from "@hono/zod-openapi";
import { TRANSACTION_DEFAULTS } from "../shared/defaults";
import * as L from "../shared/limits";
import { checkDestination } from "../shared/outbound";
import type { TransactionView } from "../shared/partition-api";
import {
  commitTransaction,
  getTransaction,
  prepareTransaction,
  rollbackTransaction,
  type TransactionFailure,
} from "../routing/transactions";
import { ApiError, invalidField, topicNotFound } from "./errors";
import { requireTopic, type App } from "./context";
import { iso } from "./views";
import { toNewMessages } from "./messages";
import { commonErrors, jsonBody, jsonResponse, tooLarge } from "./responses";
import { ErrorSchema, TopicParams } from "./schemas/common";
import { DecidedResponse, PrepareBody, PreparedResponse, TransactionParams, TransactionSchema } from "./schemas/transactions";

// Transactions (RocketMQ's half messages; the outbox pattern over HTTP): prepare, then commit or
// roll back; check-backs ask the producer about one left prepared. docs/transactions.md.

const error = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });

const notFound = { 404: error("Unknown topic or transaction") } as const;
const conflict = { 409: error("Commit after a rollback, or rollback after a commit") } as const;

const prepareRoute = createRoute({
  method: "post",
  path: "/v1/topics/{topic}/transactions",
  tags: ["Transactions"],
  summary: "Prepare a transaction: store messages that no subscription sees until it is committed",
  description:
    "A 2xx answer means every message is durably stored. Commit or roll back before `timeout_seconds`; " +
    "after it, Weir rolls back (reason timeout) or, with `check`, asks the producer. See docs/transactions.md.",
  request: { params: TopicParams, body: jsonBody(PrepareBody) },
  responses: {
    201: jsonResponse(PreparedResponse, "Prepared"),
    ...commonErrors,
    ...notFound,
    ...tooLarge,
    429: error("Too many open transactions, or the topic is full"),
  },
});

const commitRoute = createRoute({
  method: "post",
  path: "/v1/topics/{topic}/transactions/{id}/commit",
  tags: ["Transactions"],
  summary: "Commit: the messages get their offsets and are delivered like any other",
  description: "Idempotent: repeating it answers the same. A 503 may follow a recorded commit: repeat it.",
  request: { params: TransactionParams },
  responses: { 200: jsonResponse(DecidedResponse, "Committed"), ...commonErrors, ...notFound, ...conflict },
});

const rollbackRoute = createRoute({
  method: "post",
  path: "/v1/topics/{topic}/transactions/{id}/rollback",
  tags: ["Transactions"],
  summary: "Roll back: the messages are never delivered",
  description: "Idempotent: repeating it answers the same.",
  request: { params: TransactionParams },
  responses: { 200: jsonResponse(DecidedResponse, "Rolled back"), ...commonErrors, ...notFound, ...conflict },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/topics/{topic}/transactions/{id}",
  tags: ["Transactions"],
  summary: "A transaction's state",
  request: { params: TransactionParams },
  responses: { 200: jsonResponse(z.object({ transaction: TransactionSchema }), "The transaction"), ...commonErrors, ...notFound },
});

function transactionView(topic: string, t: TransactionView) {
  return {
    id: t.id,
    topic,
    state: t.state,
    reason: t.reason,
    created_at: iso(t.createdAt),
    expires_at: iso(t.expiresAt),
    decided_at: t.decidedAt === null ? null : iso(t.decidedAt),
    checks: t.checks,
    check: t.check
      ? {
          url: t.check.url,
          max_checks: t.check.maxChecks,
          interval_seconds: Math.round(t.check.intervalMs / 1000),
          next_at: t.nextCheckAt === null ? null : iso(t.nextCheckAt),
        }
      : null,
  };
}

function failureError(topic: string, id: string, f: TransactionFailure): ApiError {
  switch (f.code) {
    case "transaction_not_found":
      return new ApiError("transaction_not_found", `topic ${topic} has no transaction ${id}`);
    case "transaction_committed":
      return new ApiError("transaction_committed", `transaction ${id} is committed; it can no longer be rolled back`);
    case "transaction_rolled_back":
      return new ApiError("transaction_rolled_back", `transaction ${id} is rolled back (reason ${f.transaction.reason}); it can no longer be committed`);
    case "too_many_transactions":
      return new ApiError(
        "too_many_transactions",
        `the transaction's home partition holds its limit of ${f.limit} open transactions; commit or roll back some first`,
        undefined,
        L.TOPIC_FULL_RETRY_AFTER_SECONDS,
      );
    case "topic_full":
      return new ApiError("topic_full", `partition ${f.partition} is full: ${f.message}`, undefined, L.TOPIC_FULL_RETRY_AFTER_SECONDS);
    case "topic_deleted":
      return topicNotFound(topic);
    case "commit_pending":
      return new ApiError("unavailable", `transaction ${id} is committed, but a partition has not stored its part yet; repeat the commit`, undefined, L.UNAVAILABLE_RETRY_AFTER_SECONDS);
  }
}

/** The transaction routes. */
export function registerTransactionRoutes(app: App): void {
  app.openapi(prepareRoute, async (c) => {
    const { topic: name } = c.req.valid("param");
    const body = c.req.valid("json");
    const topic = await requireTopic(c.env, name);
    let check = null;
    if (body.check) {
      const destination = checkDestination(body.check.url, { allowLoopback: c.env.OUTBOUND_ALLOW_LOOPBACK === "true" });
      if (!destination.ok) throw invalidField("check.url", destination.reason);
      if (!c.env.OUTBOUND_SIGNING_SECRET) {
        throw new ApiError("not_configured", "the server has no OUTBOUND_SIGNING_SECRET to sign check-backs with; see docs/security.md");
      }
      check = {
        url: destination.url.href,
        maxChecks: body.check.max_checks ?? TRANSACTION_DEFAULTS.maxChecks,
        intervalMs: (body.check.interval_seconds ?? TRANSACTION_DEFAULTS.checkIntervalSeconds) * 1000,
      };
    }
    const messages = toNewMessages(body.messages, topic);
    const timeoutMs = (body.timeout_seconds ?? TRANSACTION_DEFAULTS.timeoutSeconds) * 1000;
    const prepared = await prepareTransaction(c.env, topic, messages, { timeoutMs, check });
    if (!prepared.ok) throw failureError(name, "", prepared);
    return c.json({ transaction: transactionView(name, prepared.transaction), results: prepared.results }, 201);
  });

  app.openapi(commitRoute, async (c) => {
    const { topic: name, id } = c.req.valid("param");
    const topic = await requireTopic(c.env, name);
    const outcome = await commitTransaction(c.env, topic, id);
    if (!outcome.ok) throw failureError(name, id, outcome);
    const results = (outcome.results ?? []).map((r) => ({ id: r.id, partition: r.partition, offset: r.offset, duplicate: r.duplicate }));
    return c.json({ transaction: transactionView(name, outcome.transaction), results }, 200);
  });

  app.openapi(rollbackRoute, async (c) => {
    const { topic: name, id } = c.req.valid("param");
    const topic = await requireTopic(c.env, name);
    const outcome = await rollbackTransaction(c.env, topic, id);
    if (!outcome.ok) throw failureError(name, id, outcome);
    return c.json({ transaction: transactionView(name, outcome.transaction) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { topic: name, id } = c.req.valid("param");
    const topic = await requireTopic(c.env, name);
    const transaction = await getTransaction(c.env, topic, id);
    if (!transaction) throw failureError(name, id, { ok: false, code: "transaction_not_found" });
    return c.json({ transaction: transactionView(name, transaction) }, 200);
  });
}
